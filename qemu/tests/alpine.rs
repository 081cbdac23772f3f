//! Alpine Linux 3.23 on Writ: the root filesystem `make rootfs` builds (the pinned
//! image's own binaries, dynamically linked against Alpine's musl) boots to its
//! interactive shell on the console, and Alpine's tools run.

use std::time::Duration;

use writ_qemu::Machine;

const T: Duration = Duration::from_secs(60);

fn alpine(name: &str, append: &str) -> Machine {
    Machine::start(name, &writ_qemu::rootfs::writ_alpine(append).unwrap()).unwrap()
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

#[test]
fn job_control_stop_fg_bg_and_background_reads() {
    let mut m = alpine("alpine_jobs", "log=error");
    m.wait_for(r"writ:~# ", T).unwrap();
    // ^Z stops the foreground job; the shell says so and takes the terminal back.
    m.send("sleep 100\r").unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    m.send("\x1a").unwrap();
    m.wait_for(r"\[1\]\+\s+Stopped\s+sleep 100", T).unwrap();
    m.send("jobs -l; echo listed\r").unwrap();
    m.wait_for(r"Stopped\s+sleep 100\s*\r?\nlisted", T).unwrap();
    // fg continues it in the foreground, where ^C ends it.
    m.send("fg\r").unwrap();
    m.wait_for(r"sleep 100", T).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    m.send("\x03").unwrap();
    m.send("echo fg status $?\r").unwrap();
    m.wait_for(r"fg status 130", T).unwrap();
    // A stopped job continued in the background with bg runs to the end.
    m.send("sh -c 'sleep 1; echo bg finished'\r").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    m.send("\x1a").unwrap();
    m.wait_for(r"Stopped", T).unwrap();
    m.send("bg; wait; echo after wait\r").unwrap();
    m.wait_for(r"bg finished", T).unwrap();
    m.wait_for(r"after wait", T).unwrap();
    // A background job that reads the terminal is stopped by SIGTTIN.
    m.send("cat &\r").unwrap();
    std::thread::sleep(Duration::from_millis(500));
    m.send("echo probe\r").unwrap();
    m.wait_for(r"probe", T).unwrap();
    m.send("jobs\r").unwrap();
    m.wait_for(r"Stopped \(tty input\)\s+cat", T).unwrap();
    m.send("kill -9 %1; sleep 0.2; jobs; echo end\r").unwrap();
    m.wait_for(r"end", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

#[test]
fn shell_features_and_text_tools() {
    let mut m = alpine("alpine_shell", "log=error");
    m.wait_for(r"writ:~# ", T).unwrap();
    // Pipelines and command substitution.
    m.send("echo \"n=$(printf 'a\\nb\\nc\\n' | wc -l)\"\r")
        .unwrap();
    m.wait_for(r"n=3", T).unwrap();
    // Globbing.
    m.send("mkdir /tmp/g && cd /tmp/g && touch x1.txt x2.txt y.log && echo *.txt; cd /\r")
        .unwrap();
    m.wait_for(r"x1\.txt x2\.txt\r?\n", T).unwrap();
    // A here-document through sort and uniq.
    m.send("sort <<EOF | uniq -c | tr -s ' ' | tr '\\n' ,\rpear\rapple\rpear\rEOF\r")
        .unwrap();
    m.wait_for(r" 1 apple, 2 pear,", T).unwrap();
    // awk and sed.
    m.send("echo 'a 1\nb 2\nc 3' | awk '{s+=$2} END {print \"sum\", s}'\r")
        .unwrap();
    m.wait_for(r"sum 6", T).unwrap();
    m.send("printf 'one\\ntwo\\n' > /tmp/f && sed -i 's/two/zwei/' /tmp/f && sed -n 2p /tmp/f\r")
        .unwrap();
    m.wait_for(r"\nzwei\r?\n", T).unwrap();
    // find over the whole tree: Alpine's shared libraries.
    m.send("echo libs=$(find / -name '*.so*' 2>/dev/null | wc -l)\r")
        .unwrap();
    let libs = m.wait_for(r"libs=(\d+)\r?\n", T).unwrap();
    let n: u32 = libs.groups[0].as_deref().unwrap().parse().unwrap();
    assert!(n > 20, "only {n} shared libraries found");
    // Background jobs and wait.
    m.send("(sleep 0.3; echo first) & (echo second) & wait; echo both done\r")
        .unwrap();
    m.wait_for(r"both done", T).unwrap();
    // dmesg reads the kernel's message buffer (kept even though log=error is quiet).
    m.send("dmesg | grep -c 'boot: done'; dmesg -r | grep -m1 -o '^<6>'\r")
        .unwrap();
    m.wait_for(r"\n1\r?\n<6>", T).unwrap();
    // A #! script.
    m.send("printf '#!/bin/sh\\necho script says $1\\n' > /tmp/s.sh; chmod +x /tmp/s.sh; /tmp/s.sh hi\r")
        .unwrap();
    m.wait_for(r"script says hi", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

#[test]
fn full_screen_tools_vi_and_less() {
    let mut m = alpine("alpine_vi", "log=error");
    m.wait_for(r"writ:~# ", T).unwrap();
    // busybox vi in raw mode: insert a line, leave with :wq.
    m.send("vi /tmp/note\r").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    m.send("iwritten in vi\x1b").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    m.send(":wq\r").unwrap();
    m.send("cat /tmp/note; echo vi-status=$?\r").unwrap();
    m.wait_for(r"\nwritten in vi\r?\nvi-status=0", T).unwrap();
    // less pages a file and quits on q.
    m.send("seq 1 200 > /tmp/n; less /tmp/n\r").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    m.send("q").unwrap();
    m.send("echo less-done\r").unwrap();
    m.wait_for(r"\nless-done", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

#[test]
fn poweroff_from_the_shell_ends_the_machine() {
    let mut m = alpine("alpine_poweroff", "log=error");
    m.wait_for(r"writ:~# ", T).unwrap();
    // A non-root user may not (reboot(2) is root's); root's poweroff goes through
    // busybox init's shutdown (SIGUSR2 to pid 1, processes killed, reboot(2)).
    m.send("adduser -D pat; su pat -s /bin/sh -c 'poweroff -f; echo refused=$?'\r")
        .unwrap();
    m.wait_for(r"refused=1", T).unwrap();
    m.send("poweroff\r").unwrap();
    m.expect_exit(writ_qemu::Outcome::PowerOff { status: 0 }, T)
        .unwrap();
}

#[test]
fn init_respawns_the_shell_with_the_terminal() {
    let mut m = alpine("alpine_respawn", "log=error");
    m.wait_for(r"writ:~# ", T).unwrap();
    // Leaving the login shell: init starts a new one in a new session, which must get
    // the console (TIOCSCTTY) and its foreground, or it would stop itself on SIGTTIN.
    m.send("exit\r").unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    m.send("echo respawned $((1+1))\r").unwrap();
    m.wait_for(r"respawned 2", T).unwrap();
    m.send("sleep 100\r").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    m.send("\x03").unwrap();
    m.send("echo after ^C $?\r").unwrap();
    m.wait_for(r"after \^C 130", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

/// OpenRC brings up Alpine's sysinit and boot runlevels (the image's inittab would run
/// them at boot; the overlay's does not, to keep boot short, so they run by hand
/// here): its services start (hwclock among them, through /dev/rtc0), syslogd runs as
/// a daemon, rc-service drives one, and `date -s` and `hwclock -w` set the clocks.
#[test]
fn openrc_runlevels_and_services() {
    let mut m = alpine("alpine_openrc", "log=error");
    m.wait_for(r"writ:~# ", T).unwrap();
    m.send("openrc sysinit >/dev/null 2>&1; openrc boot >/dev/null 2>&1; openrc default >/dev/null 2>&1; echo rc=$?\r")
        .unwrap();
    m.wait_for(r"rc=0", Duration::from_secs(120)).unwrap();
    m.send(
        "rc-status -a | grep -E 'bootmisc|syslog|hostname|devfs|hwclock' | tr -s ' '; echo status-done\r",
    )
    .unwrap();
    for svc in ["devfs", "hwclock", "hostname", "bootmisc", "syslog"] {
        m.wait_for(&format!(r"{svc} \[ started \]"), T).unwrap();
    }
    m.wait_for(r"status-done", T).unwrap();
    m.send("pidof syslogd >/dev/null && echo syslogd-up; ls /run/openrc/started | wc -l\r")
        .unwrap();
    m.wait_for(r"syslogd-up", T).unwrap();
    m.send("rc-service syslog restart >/dev/null 2>&1; rc-service syslog status\r")
        .unwrap();
    m.wait_for(r"status: started", T).unwrap();
    m.send("date -s '2030-01-02 03:04:05' >/dev/null; date +%Y-%m-%d\r")
        .unwrap();
    m.wait_for(r"\n2030-01-02", T).unwrap();
    // The hardware clock (/dev/rtc0, the CMOS clock): written from the system clock,
    // read back.
    m.send("hwclock -w -u && hwclock -r -u\r").unwrap();
    m.wait_for(r"\n\w+ Jan  2 03:04:\d\d 2030", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

/// A shell on a pseudo-terminal: devpts is mounted at boot (the overlay's inittab);
/// `ptyshell` (qemu/tests/programs/ptyshell.c, added to the initrd) opens /dev/ptmx,
/// runs `sh -i` in a new session on the slave and types lines at the master. The
/// shell's `tty` names the slave (musl's ttyname: /proc/self/fd/0 and stat), its line
/// editing works through the pty, /dev/pts lists the terminal while it lives, and the
/// session's tty_nr in /proc is the slave's number, ^C at the master interrupts the
/// foreground job, a background reader is stopped (SIGTTIN), and the shell's exit status comes
/// back when it exits.
#[test]
fn shell_on_a_pseudo_terminal() {
    use std::process::Command;
    let dir = writ_qemu::paths::workspace_root().join("target/ptyshell");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("ptyshell");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/ptyshell.c");
    let st = Command::new("musl-gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("musl-gcc (scripts/setup.sh installs musl-tools)");
    assert!(st.success());
    let rootfs = writ_qemu::rootfs::build().unwrap();
    let mut b = writ_qemu::initrd::InitrdBuilder::new(Some(rootfs.path)).unwrap();
    b.file(
        "usr/local/bin/ptyshell",
        0o755,
        &std::fs::read(&exe).unwrap(),
    )
    .unwrap();
    let initrd = b.build().unwrap().unwrap();
    let cfg = writ_qemu::QemuConfig::writ()
        .unwrap()
        .initrd(initrd.path().to_path_buf())
        .memory("1G".parse().unwrap())
        .append("log=error");
    let mut m = Machine::start("alpine_pty", &cfg).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    m.send("grep devpts /proc/mounts; ls /dev/pts | cat\r")
        .unwrap();
    m.wait_for(r"^devpts /dev/pts devpts rw", T).unwrap();
    m.wait_for(r"^ptmx\r*$", T).unwrap();
    m.send("ptyshell tty 'echo hi $((6*7))' 'ls /dev/pts | cat' 'echo abcx^?d' 'cut -d\" \" -f7 /proc/self/stat' 'sleep 30' '^C' 'echo rc=$?' 'cat &' 'jobs' 'kill -9 %1; sleep 0.2; jobs' 'exit 3'\r")
        .unwrap();
    let slave = m.wait_for(r"ptyshell: slave (/dev/pts/\d+)", T).unwrap();
    let name = slave.groups[0].clone().unwrap();
    let n = name.trim_start_matches("/dev/pts/").to_string();
    // `tty` in the shell on the pty: the slave's name (a line of output, not the echo).
    m.wait_for(&format!(r"^{}\r*$", regex_escape(&name)), T)
        .unwrap();
    m.wait_for(r"^hi 42\r*$", T).unwrap();
    m.wait_for(&format!(r"^{n}\r*\nptmx\r*$"), T).unwrap();
    // The shell's line editor got the DEL (ptyshell types `^?` as one) and erased the x.
    m.wait_for(r"^abcd\r*$", T).unwrap();
    // /proc/PID/stat's tty_nr: the controlling terminal is 136:N.
    let tty_nr = 136 * 256 + n.parse::<u32>().unwrap();
    m.wait_for(&format!(r"^{tty_nr}\r*$"), T).unwrap();
    // ^C typed at the master interrupts the shell's foreground job.
    m.wait_for(r"^rc=130\r*$", T).unwrap();
    // A background job reading the pty is stopped by SIGTTIN.
    m.wait_for(r"Stopped \(tty input\)\s+cat", T).unwrap();
    m.wait_for(r"ptyshell: exited 3", T).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    // The terminal is gone with both of its sides.
    m.send("ls /dev/pts | wc -l\r").unwrap();
    m.wait_for(r"^1\r*$", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let esc = !c.is_ascii_alphanumeric() && c != '/' && c != ' ';
            esc.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}
