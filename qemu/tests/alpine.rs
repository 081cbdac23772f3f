//! Alpine Linux 3.23 on Writ: the root filesystem `make rootfs` builds (the pinned
//! image's own binaries, dynamically linked against Alpine's musl) boots to its
//! interactive shell on the console, and Alpine's tools run.

use std::time::Duration;

use writ_qemu::{Machine, QemuConfig};

const T: Duration = Duration::from_secs(60);

fn alpine(name: &str, append: &str) -> Machine {
    let rootfs = writ_qemu::rootfs::build().expect("make rootfs (needs the pinned Alpine wheel)");
    let cfg = QemuConfig::writ()
        .unwrap()
        .initrd(rootfs.path.clone())
        .memory("1G".parse().unwrap())
        .append(append);
    Machine::start(name, &cfg).unwrap()
}

#[test]
fn interactive_shell_with_job_control_keys() {
    let mut m = alpine("alpine_interactive", "log=error");
    // busybox init ran the overlay's inittab: the hostname is set, the shell is up.
    m.wait_for(r"writ:~# ", T).unwrap();
    m.send("echo hello $((6*7))\r").unwrap();
    m.wait_for(r"hello 42", T).unwrap();
    m.send("sleep 100\r").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // ^C goes through the tty's line discipline to the foreground job.
    m.send("\x03").unwrap();
    m.wait_for(r"\^C", T).unwrap();
    m.send("echo back $?\r").unwrap();
    m.wait_for(r"back 130", T).unwrap();
    m.send("cat /etc/os-release | grep PRETTY\r").unwrap();
    m.wait_for(r#"PRETTY_NAME="Alpine Linux v3\.23""#, T)
        .unwrap();
    m.send("sleep 1 & wait; echo job done\r").unwrap();
    m.wait_for(r"job done", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

#[test]
fn alpine_tools_run() {
    let mut m = alpine("alpine_tools", "log=error");
    m.wait_for(r"~# ", T).unwrap();
    m.send("curl --version | head -1; apk --version; apk info 2>/dev/null | wc -l\r")
        .unwrap();
    m.wait_for(r"curl 8\.\d+\.\d+", T).unwrap();
    m.wait_for(r"apk-tools 3\.\d+\.\d+", T).unwrap();
    // The image's installed packages.
    m.wait_for(r"\n59\r?\n", T).unwrap();
    m.terminate(Duration::from_secs(1));
}
