//! The bundled X-Ray-compatible emulator: the X-Ray REST-JSON API over HTTP, state in
//! memory, one state per region (the region comes from the SigV4 credential scope).
//!
//! Signatures are not verified (any key works), but a request with no SigV4 Authorization
//! header is refused as AWS refuses it: 403 MissingAuthenticationTokenException. Headers
//! and keys are never logged.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use cruddur_xray::emulator::{EmulatorOptions, start};
//! let emulator = start(EmulatorOptions::default()).await?;
//! println!("{}", emulator.url()); // http://127.0.0.1:PORT
//! emulator.shutdown().await?;
//! # Ok(()) }
//! ```

mod conn;
pub mod error;
pub mod faults;
pub mod state;
pub mod traces;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use conn::{ConnInfo, KillableListener};
pub use error::ApiError;
pub use faults::{FaultRule, Faults};
pub use state::Store;

/// The largest request body accepted; more gets 413.
pub const MAX_BODY: usize = 5 * 1024 * 1024;

/// How long [`RunningEmulator::shutdown`] waits for requests in flight.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How to run an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Address to bind. Loopback unless you mean otherwise.
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Faults to inject (see [`faults`]).
    pub faults: Vec<FaultRule>,
    /// Seed of the fault generator; `None` picks one (and logs it).
    pub fault_seed: Option<u64>,
}

impl Default for EmulatorOptions {
    /// 127.0.0.1 on a free port, no faults.
    fn default() -> Self {
        EmulatorOptions {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            faults: Vec::new(),
            fault_seed: None,
        }
    }
}

/// A running emulator. Dropping it stops the server too; [`RunningEmulator::shutdown`]
/// also waits for it to finish.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    store: Arc<Store>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// `http://HOST:PORT`, ready for an SDK's endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state behind the server, for in-process inspection.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Stop accepting, give the requests in flight [`SHUTDOWN_GRACE`] to finish (a stalled
    /// client cannot hold the caller up longer), and return. A request still running then
    /// is left to finish on its own task (the process exiting ends it).
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(joined) => joined.map_err(std::io::Error::other)?,
            Err(_) => {
                tracing::warn!("requests still open after {SHUTDOWN_GRACE:?}; closing them");
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct App {
    store: Arc<Store>,
    faults: Faults,
}

/// Bind and serve in the background. Returns once the socket is bound.
pub async fn start(opts: EmulatorOptions) -> std::io::Result<RunningEmulator> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(opts.host, opts.port)).await?;
    let addr = listener.local_addr()?;
    let seed = opts.fault_seed.unwrap_or_else(|| fastrand::u64(..));
    if !opts.faults.is_empty() {
        tracing::warn!(
            faults = opts.faults.len(),
            seed,
            "fault injection is on (replay with --fault-seed {seed})"
        );
    }
    let store = Arc::new(Store::new());
    let app = Arc::new(App {
        store: store.clone(),
        faults: Faults::new(opts.faults, seed),
    });
    let router = Router::new().fallback(serve).with_state(app);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let server = axum::serve(
        KillableListener::new(listener),
        router.into_make_service_with_connect_info::<ConnInfo>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let task = tokio::spawn(async move { server.await });
    tracing::info!(%addr, "X-Ray emulator listening");
    Ok(RunningEmulator {
        addr,
        store,
        stop: Some(stop_tx),
        task: Some(task),
    })
}

fn request_id() -> String {
    let hex: String = (0..32)
        .map(|_| char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn json_response(status: u16, body: Bytes, error_type: Option<&str>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-RequestId", id);
    }
    if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("x-amzn-ErrorType", t);
    }
    resp
}

fn error_response(e: &ApiError) -> Response {
    json_response(
        e.status,
        Bytes::from(e.body().to_string()),
        Some(e.code.as_str()),
    )
}

/// The region in a SigV4 Authorization header's credential scope
/// (`Credential=AKID/DATE/REGION/SERVICE/aws4_request`), after checking the scope's shape.
pub fn region_from_authorization(auth: &str) -> Result<String, ApiError> {
    let incomplete = |what: &str| {
        ApiError::new(
            403,
            "IncompleteSignatureException",
            format!("Authorization header requires a valid {what}"),
        )
    };
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| incomplete("AWS4-HMAC-SHA256 signature"))?;
    let credential = rest
        .split([',', ' '])
        .find_map(|p| p.trim().strip_prefix("Credential="))
        .ok_or_else(|| incomplete("'Credential' parameter"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [_key, _date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(incomplete("credential scope"));
    };
    if *service != "xray" {
        return Err(ApiError::new(
            403,
            "InvalidSignatureException",
            format!("Credential should be scoped to correct service: 'xray' (got {service:?})"),
        ));
    }
    let region_ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(incomplete("region in the credential scope"));
    }
    Ok((*region).to_owned())
}

fn region_of(headers: &HeaderMap) -> Result<String, ApiError> {
    match headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        None => Err(ApiError::new(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )),
        Some(auth) => region_from_authorization(auth),
    }
}

async fn serve(
    State(app): State<Arc<App>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let operation = model_operation(&parts.method, &path);
    let Some(operation) = operation else {
        tracing::info!(method = %parts.method, path, "unknown operation");
        return error_response(&ApiError::new(
            404,
            "UnknownOperationException",
            format!("No X-Ray operation at {} {path}", parts.method),
        ));
    };
    let region = match region_of(&parts.headers) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(
                operation,
                code = e.code,
                "request refused before the service"
            );
            return error_response(&e);
        }
    };
    let too_large = ApiError::new(
        413,
        "RequestEntityTooLargeException",
        format!("Request body is larger than {MAX_BODY} bytes"),
    );
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return error_response(&too_large);
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return error_response(&too_large);
    };
    let input: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return error_response(&ApiError::new(
                    400,
                    "SerializationException",
                    "The request body must be a JSON object",
                ));
            }
            Err(e) => {
                return error_response(&ApiError::new(
                    400,
                    "SerializationException",
                    format!("The request body is not valid JSON: {e}"),
                ));
            }
        }
    };

    let fault = app.faults.decide(operation);
    if !fault.latency.is_zero() {
        tokio::time::sleep(fault.latency).await;
    }
    if fault.throttle {
        tracing::info!(operation, region, "fault: throttled");
        return error_response(&ApiError::throttled());
    }
    if fault.error {
        tracing::info!(operation, region, "fault: server error");
        return error_response(&ApiError::new(
            503,
            "ServiceUnavailableException",
            "Service unavailable (injected fault)",
        ));
    }
    let result = app.store.call(&region, operation, &input);
    let mut response = match &result {
        Ok(body) => json_response(200, Bytes::from(body.to_string()), None),
        Err(e) => error_response(e),
    };
    tracing::info!(
        operation,
        region,
        status = response.status().as_u16(),
        peer = ?conn.peer,
        "request"
    );
    if fault.drop {
        tracing::info!(operation, region, "fault: dropping the connection");
        conn.kill();
        return response;
    }
    if fault.malformed {
        tracing::info!(operation, region, "fault: malformed response body");
        *response.body_mut() = Body::from("{\"Malformed\": [tru");
        response.headers_mut().remove(header::CONTENT_LENGTH);
    }
    response
}

/// The model operation for a POST to `path`; anything else has none.
fn model_operation(method: &Method, path: &str) -> Option<&'static str> {
    if method != Method::POST {
        return None;
    }
    crate::model::model()
        .operation_for_path(path)
        .map(|op| op.name.as_str())
}
#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod tests;
