//! `cruddur-xray emulator`: run the X-Ray-compatible emulator until Ctrl-C or SIGTERM.
//! The first line on stdout is the URL it listens on; logs go to stderr.

use std::io::Write;
use std::net::IpAddr;

use crate::commands::{Context, Outcome};
use crate::emulator::{EmulatorOptions, faults};
use crate::error::{Error, Result};

/// The environment variable that adds faults (specs separated by spaces or `;`).
pub const FAULTS_ENV: &str = "CRUDDUR_XRAY_EMULATOR_FAULTS";

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Point a client at it with --endpoint-url URL (or AWS_ENDPOINT_URL_XRAY=URL) and any
credentials; state is kept in memory, one state per region.

Faults (--fault, repeatable; also CRUDDUR_XRAY_EMULATOR_FAULTS, specs separated by spaces):
  throttle=P[@Op,...]   answer 429 ThrottledException with probability P
  error=P[@Op,...]      answer 503 ServiceUnavailableException with probability P
  drop=P[@Op,...]       do the operation, then close the connection without an answer
  malformed=P[@Op,...]  do the operation, then answer with a truncated JSON body
  latency=DUR[@Op,...]  wait DUR (e.g. 200ms) before answering")]
pub struct Args {
    /// Address to listen on. Anything but loopback exposes the emulator to the network.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one (the URL on stdout says which)
    #[arg(long, default_value_t = 2000, value_name = "PORT")]
    pub port: u16,
    /// Inject a fault, e.g. throttle=0.3, error=1.0@CreateGroup, latency=200ms
    #[arg(long = "fault", value_name = "SPEC", value_parser = faults::parse_rule)]
    pub faults: Vec<faults::FaultRule>,
    /// Seed for the fault generator, so a run can be replayed (default: random, logged)
    #[arg(long, value_name = "N")]
    pub fault_seed: Option<u64>,
}

pub async fn run(args: Args, _ctx: &Context) -> Result<Outcome> {
    let mut rules = match std::env::var(FAULTS_ENV) {
        Ok(list) => {
            faults::parse_list(&list).map_err(|e| Error::invalid(format!("{FAULTS_ENV}: {e}")))?
        }
        Err(_) => Vec::new(),
    };
    rules.extend(args.faults);
    if let Some(warning) = exposure_warning(args.host) {
        eprintln!("{warning}");
    }
    let signals = StopSignals::install()
        .map_err(|e| Error::Other(format!("cannot install signal handlers: {e}")))?;
    let emulator = crate::emulator::start(EmulatorOptions {
        host: args.host,
        port: args.port,
        faults: rules,
        fault_seed: args.fault_seed,
    })
    .await
    .map_err(|e| Error::Other(format!("cannot listen on {}:{}: {e}", args.host, args.port)))?;
    let mut out = std::io::stdout();
    writeln!(out, "{}", emulator.url())
        .and_then(|()| out.flush())
        .map_err(|e| Error::Other(format!("cannot write to stdout: {e}")))?;
    signals.wait().await;
    tracing::info!("stopping");
    emulator
        .shutdown()
        .await
        .map_err(|e| Error::Other(format!("emulator failed: {e}")))?;
    Ok(Outcome::Ok)
}

/// The loud warning for a bind address other machines can reach, if it is one.
pub fn exposure_warning(host: IpAddr) -> Option<String> {
    (!host.is_loopback()).then(|| {
        format!(
            "warning: --host {host} is not a loopback address: anyone who can reach this machine can read and change the emulator's state, without credentials"
        )
    })
}

/// Ctrl-C (SIGINT) and SIGTERM, installed before the URL is printed so a supervisor that
/// signals as soon as it reads the URL still gets a clean stop.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> std::io::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    async fn wait(mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_loopback_addresses_warn() {
        assert_eq!(exposure_warning("127.0.0.1".parse().unwrap()), None);
        assert_eq!(exposure_warning("::1".parse().unwrap()), None);
        let w = exposure_warning("0.0.0.0".parse().unwrap()).unwrap();
        assert!(
            w.starts_with("warning: --host 0.0.0.0 is not a loopback address"),
            "{w}"
        );
    }
}
