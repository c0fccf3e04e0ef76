//! One module per subcommand.

pub mod bootstrap;
mod crds;
pub mod dev;
pub mod token;

use crate::cli::Command;

/// Runs one subcommand.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Crds => crds::run(&mut std::io::stdout().lock()),
        Command::Dev(args) => tokio::runtime::Runtime::new()?.block_on(dev::run(args)),
        Command::Bootstrap(args) => {
            let env = |name: &str| std::env::var(name).ok();
            tokio::runtime::Runtime::new()?
                .block_on(bootstrap::run(&args, &env, &mut std::io::stdout().lock()))
                .map(|_| ())
        }
        Command::Token(args) => {
            let env = |name: &str| std::env::var(name).ok();
            tokio::runtime::Runtime::new()?
                .block_on(token::run(&args, &env, &mut std::io::stdout().lock()))
                .map(|_| ())
        }
    }
}
