//! Errors in the REST-JSON shape X-Ray answers with: an HTTP status, the error type in the
//! `x-amzn-ErrorType` header and `{"__type": ..., "Message": ...}` in the body.

use serde_json::{Value, json};

use crate::model::model;

/// One error response. `code` is the exception shape's name from the service model, or
/// one of the front-end errors AWS gives before a request reaches the service
/// (`MissingAuthenticationTokenException`, `UnknownOperationException`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `ResourceName`, for the exceptions whose model shape has it.
    pub resource_name: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            resource_name: None,
        }
    }

    /// An exception declared in the model, with the model's HTTP status (400 when the
    /// model gives none, as for every REST-JSON client error).
    pub fn modeled(code: &str, message: impl Into<String>) -> ApiError {
        let status = model()
            .shape(code)
            .and_then(|s| s.error.as_ref())
            .and_then(|e| e.http_status_code)
            .unwrap_or(400);
        ApiError::new(status, code, message)
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::modeled("InvalidRequestException", message)
    }

    pub fn throttled() -> ApiError {
        ApiError::modeled("ThrottledException", "Rate exceeded")
    }

    pub fn not_found(resource: &str) -> ApiError {
        let mut e = ApiError::modeled(
            "ResourceNotFoundException",
            format!("Resource not found: {resource}"),
        );
        e.resource_name = Some(resource.to_owned());
        e
    }

    /// The body. AWS's front end writes `message`, the service's exceptions `Message`;
    /// botocore and the Rust SDK read either.
    pub fn body(&self) -> Value {
        let message_key = if self.code == "MissingAuthenticationTokenException" {
            "message"
        } else {
            "Message"
        };
        let mut body = json!({ "__type": self.code, message_key: self.message });
        if let Some(name) = &self.resource_name {
            body["ResourceName"] = Value::String(name.clone());
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_come_from_the_model() {
        assert_eq!(ApiError::invalid("x").status, 400);
        assert_eq!(ApiError::throttled().status, 429);
        assert_eq!(ApiError::not_found("arn").status, 404);
        assert_eq!(
            ApiError::modeled("RuleLimitExceededException", "x").status,
            400
        );
        assert_eq!(ApiError::modeled("TooManyTagsException", "x").status, 400);
    }

    #[test]
    fn the_body_names_the_type_and_the_message() {
        let e = ApiError::not_found("arn:x");
        assert_eq!(
            e.body(),
            json!({"__type": "ResourceNotFoundException", "Message": "Resource not found: arn:x", "ResourceName": "arn:x"})
        );
        let e = ApiError::new(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        );
        assert_eq!(e.body()["message"], "Missing Authentication Token");
    }
}
