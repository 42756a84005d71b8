//! Pins the embedded Python to the interpreter pyo3 was built against.
//!
//! pyo3 links `libpython3.x.so` by name only, so at run time the dynamic loader may pick another
//! copy (on Debian with pyenv: the system `/usr/lib/.../libpython3.11.so.1.0`, a different patch
//! release with a different `sys.prefix`). An rpath to the build interpreter's `LIBDIR` makes the
//! loaded library the one we built against, and the interpreter's executable is baked in so the
//! virtualenv is created from that very interpreter: embedded and venv Python agree by construction.

fn main() {
    let config = pyo3_build_config::get();
    if let Some(lib_dir) = config.lib_dir() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
        println!("cargo:rustc-env=PARITY_BUILD_PYTHON_LIBDIR={lib_dir}");
    } else {
        println!("cargo:rustc-env=PARITY_BUILD_PYTHON_LIBDIR=");
    }
    let executable = config.executable().unwrap_or_default();
    println!("cargo:rustc-env=PARITY_BUILD_PYTHON={executable}");
    println!(
        "cargo:rustc-env=PARITY_BUILD_PYTHON_VERSION={}",
        config.version()
    );
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-changed=build.rs");
}
