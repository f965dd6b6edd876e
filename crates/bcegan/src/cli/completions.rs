//! The `completions` command: shell completion scripts generated from the clap definition.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

/// Settings of `bcegan completions`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Install for bash: bcegan completions bash > \
                        ~/.local/share/bash-completion/completions/bcegan\n\
                        zsh: bcegan completions zsh > ~/.zfunc/_bcegan (with ~/.zfunc in fpath)\n\
                        fish: bcegan completions fish > ~/.config/fish/completions/bcegan.fish")]
pub struct CompletionsArgs {
    /// Shell to write the completion script for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `args.shell` to `out`.
///
/// # Errors
///
/// Returns the I/O error when writing to `out` fails.
pub fn run(args: &CompletionsArgs, out: &mut impl Write) -> std::io::Result<()> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    // clap_complete panics when its writer fails, so the script is built in memory first.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    out.write_all(&script)?;
    out.flush()
}
