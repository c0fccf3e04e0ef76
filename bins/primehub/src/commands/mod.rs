//! One module per subcommand.

mod crds;

use crate::cli::Command;

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Crds => crds::run(&mut std::io::stdout().lock()),
    }
}
