// Links the kernel with boot/linker.ld (higher-half layout, PVH note segment).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let script = std::path::Path::new(&dir).join("../boot/linker.ld");
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    println!("cargo:rustc-link-arg-bins=-z");
    println!("cargo:rustc-link-arg-bins=max-page-size=4096");
    println!("cargo:rerun-if-changed={}", script.display());
}
