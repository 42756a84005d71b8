//! `parity`: thin entry point; everything happens in [`parity::cli`].

use clap::Parser;

fn main() {
    let cli = parity::cli::Cli::parse();
    let code = parity::cli::run(
        cli,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}
