//! The `nudge` command.
//!
//! # Layout
//!
//! - `config`: loading and checking `nudge.toml`.
//! - `replay`: `nudge replay`, the engine over files.

mod config;
mod replay;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "nudge",
    version,
    about = "Real-time customer-journey engine on Kafka"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine over clickstream.ndjson, email.ndjson and crm.ndjson in a directory.
    Replay {
        /// Directory holding the input files (any of them may be missing).
        #[arg(long)]
        input: PathBuf,
        /// Configuration file; every key is optional.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write output records here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Input bytes to sort in memory before spilling sorted runs to disk.
        #[arg(long, default_value_t = 256 << 20, hide = true)]
        sort_budget: usize,
    },
    /// Validate a configuration file and name the first bad key.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay {
            input,
            config,
            out,
            sort_budget,
        } => config::load_or_default(config.as_deref()).and_then(|cfg| {
            let opts = replay::Options {
                input: &input,
                out: out.as_deref(),
                sort_budget,
            };
            replay::run(&opts, cfg)
        }),
        Command::Check { config } => config::load(&config).map(|_| {
            println!("{}: ok", config.display());
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nudge: {e:#}");
            ExitCode::FAILURE
        }
    }
}
