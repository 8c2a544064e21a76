//! `jjj-registry`: see `jjj-registry --help`.

fn main() -> std::process::ExitCode {
    jjj_registry::cli::main()
}
