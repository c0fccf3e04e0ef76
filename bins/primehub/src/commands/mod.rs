//! One module per subcommand.

mod crds;
pub mod dev;

use crate::cli::Command;

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Crds => crds::run(&mut std::io::stdout().lock()),
        Command::Dev(args) => tokio::runtime::Runtime::new()?.block_on(dev::run(args)),
    }
}
