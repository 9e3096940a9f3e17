//! Placeholder: filled in by its own change.

use crate::commands::{Context, Outcome};
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub async fn run(_args: Args, _ctx: &Context) -> Result<Outcome> {
    Err(crate::error::Error::Other("not built yet".into()))
}
