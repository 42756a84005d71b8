//! `parity`: thin entry point; everything happens in [`parity::cli`].

use clap::Parser;

fn main() {
    let cli = parity::cli::Cli::parse();
    // Unlocked handles: each write takes the stream's lock only for itself. A lock held here for
    // the whole run would deadlock every worker thread that reports progress on stderr (the js
    // subject's first-use install does, from the exec workers).
    let code = parity::cli::run(cli, &mut std::io::stdout(), &mut std::io::stderr());
    std::process::exit(code);
}
