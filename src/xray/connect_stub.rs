//! TEMPORARY (verify branch only): stands in for the AWS client builder written on another
//! branch, so `verify` compiles here. The lead replaces it with the real `connect`.

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::xray::fake::FakeXRay;

/// Build the X-Ray client from the global flags. Always fails in this build.
pub async fn connect(_global: &GlobalArgs) -> Result<FakeXRay> {
    Err(Error::Config("no AWS client in this build".into()))
}
