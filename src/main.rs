//! Parse, run, print `error: ...` on one line, exit with the documented code.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use cruddur_xray::cli::Cli;
use cruddur_xray::commands::{self, Context};
use cruddur_xray::error::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" to clap but succeed; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Ok.into()
            };
        }
    };
    cruddur_xray::logging::init(cli.global.verbose, cli.global.no_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Other.into();
        }
    };
    let ctx = Context { global: cli.global };
    let result = runtime.block_on(commands::run(cli.command, &ctx));
    // After Ctrl-C, a blocking task (a file read, a credentials process) must not hold up
    // the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(outcome) => Exit::from(outcome).into(),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            e.exit().into()
        }
    }
}
