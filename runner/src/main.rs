//! The `scenario-runner` binary: the anyhow edge. Parses the arguments, runs the subcommand on a
//! tokio runtime, and turns an error into a message and exit code 2.

use std::process::ExitCode;

use clap::Parser as _;
use scenario_runner::cli::{Cli, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            scenario_runner::errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(cli.command.execute()) {
        Ok(code) => code,
        Err(error) => {
            scenario_runner::errln!("error: {error:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
