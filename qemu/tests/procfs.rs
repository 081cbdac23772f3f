//! /proc, /sys, devtmpfs and mount as Alpine's tools use them on Writ: busybox init
//! mounts proc, sysfs, devtmpfs and devpts from the overlay's inittab, then `mount`, `df`,
//! `ps`, `top`, `free`, `uptime`, `pidof`, `killall`, `ls -l /proc/self`, `readlink
//! /proc/self/exe` and `cat /proc/cpuinfo` run in the interactive shell on the serial
//! console, and their output is what they print on Linux for the same facts.

use std::time::Duration;

use writ_qemu::Machine;

const T: Duration = Duration::from_secs(60);

fn alpine(name: &str) -> Machine {
    let cfg = writ_qemu::rootfs::writ_alpine("log=error").unwrap();
    let mut m = Machine::start(name, &cfg).unwrap();
    m.wait_for(r"writ:~# ", T).unwrap();
    m
}

/// Types `cmd` and waits for each pattern in turn (patterns must not match the echo
/// of the typed line: they anchor at a line start or name output-only text).
fn run(m: &mut Machine, cmd: &str, expect: &[&str]) {
    m.send(&format!("{cmd}\r")).unwrap();
    for e in expect {
        m.wait_for(e, T)
            .unwrap_or_else(|err| panic!("`{cmd}`: no {e:?}: {err}"));
    }
    m.wait_for(r"writ:~# ", T).unwrap();
}

#[test]
fn mount_and_df_show_the_boot_mounts() {
    let mut m = alpine("procfs_mount");
    run(
        &mut m,
        "mount",
        &[
            r"^rootfs on / type rootfs \(rw,relatime\)",
            r"^proc on /proc type proc \(rw,relatime\)",
            r"^sysfs on /sys type sysfs \(rw,relatime\)",
            r"^devtmpfs on /dev type devtmpfs \(rw,relatime\)",
            r"^devpts on /dev/pts type devpts \(rw,relatime",
        ],
    );
    run(&mut m, "cat /etc/mtab | wc -l", &[r"^5\r?$"]);
    run(
        &mut m,
        "df",
        &[
            r"Filesystem\s+1K-blocks\s+Used\s+Available\s+Use% Mounted on",
            r"^devtmpfs\s+\d+\s+0\s+\d+\s+0% /dev",
        ],
    );
    // A tmpfs mounted and unmounted again; statfs says what each one is.
    run(
        &mut m,
        "mkdir -p /mnt/t && mount -t tmpfs scratch /mnt/t && echo hi > /mnt/t/f && stat -f -c %t /mnt/t /proc /sys /dev && grep scratch /proc/mounts",
        &[
            r"^1021994\r?\n9fa0\r?\n62656572\r?\n1021994\r?$",
            r"^scratch /mnt/t tmpfs rw,relatime 0 0",
        ],
    );
    run(
        &mut m,
        "umount /mnt/t; ls /mnt/t | wc -l; mount -t sysfs sysfs /sys; echo rc=$?",
        &[r"^0\r?$", r"Resource busy", r"^rc=[1-9]\d*\r?$"],
    );
    run(
        &mut m,
        "mount -t nosuchfs x /mnt; echo rc=$?",
        &[r"No such device", r"^rc=[1-9]\d*\r?$"],
    );
    m.terminate(Duration::from_secs(1));
}

#[test]
fn process_tools_read_proc() {
    let mut m = alpine("procfs_ps");
    run(
        &mut m,
        "ps",
        &[
            r"PID\s+USER\s+TIME\s+COMMAND",
            r"^\s+1 root\s+\d+:\d+ /init\r?$",
            r"^\s+\d+ root\s+\d+:\d+ -\S*sh\r?$",
            r"^\s+\d+ root\s+\d+:\d+ ps\r?$",
        ],
    );
    run(
        &mut m,
        "ps -o pid,ppid,user,stat,comm",
        &[
            r"PID\s+PPID\s+USER\s+STAT\s+COMMAND",
            r"^\s+1\s+0 root\s+S\s+init",
            r"^\s+\d+\s+1 root\s+S\s+sh",
            r"^\s+\d+\s+\d+ root\s+R\s+ps",
        ],
    );
    run(
        &mut m,
        "top -bn1 | head -5",
        &[
            r"^Mem: \d+K used, \d+K free",
            r"^Load average: 0\.00 0\.00 0\.00 \d+/\d+ \d+",
            r"PID\s+PPID\s+USER\s+STAT\s+VSZ",
        ],
    );
    run(
        &mut m,
        "free",
        &[r"total\s+used\s+free", r"^Mem:\s+\d+\s+\d+\s+\d+"],
    );
    run(
        &mut m,
        "uptime",
        &[r"up \d+ min,\s+0 users,\s+load average: 0\.00, 0\.00, 0\.00"],
    );
    run(&mut m, "pidof init", &[r"^1\r?$"]);
    run(
        &mut m,
        "sleep 100 & sleep 1; killall sleep; wait $!; echo rc=$?",
        &[r"^rc=143\r?$"],
    );
    m.terminate(Duration::from_secs(1));
}

#[test]
fn proc_self_links_and_files() {
    let mut m = alpine("procfs_self");
    run(&mut m, "readlink /proc/self/exe", &[r"^/bin/busybox\r?$"]);
    run(
        &mut m,
        "ls -l /proc/self/ | cat",
        &[
            r"^lrwxrwxrwx +1 root +root +0 .* exe -> /bin/busybox",
            r"^dr-x------ +2 root +root +0 .* fd\r?$",
            r"^-r--r--r-- +1 root +root +0 .* status\r?$",
        ],
    );
    run(
        &mut m,
        "ls -l /proc/self/fd | cat",
        &[
            r"^lrwx------ +1 root +root +64 .* 0 -> /dev/console",
            r"^l-wx------ +1 root +root +64 .* 1 -> pipe:\[\d+\]",
            r"^lrwx------ +1 root +root +64 .* 2 -> /dev/console",
        ],
    );
    run(
        &mut m,
        "cat /proc/cpuinfo | head -5",
        &[
            r"^processor\s+: 0",
            r"^vendor_id\s+: \S+",
            r"^model name\s+: \S",
        ],
    );
    run(
        &mut m,
        "cat /proc/self/caps",
        // The debug console's `caps PID` format: the fds on the console, the
        // authority CNode's Budget and NetStack, each with its CDT parent.
        &[
            r"^pid \d+ \(cat\) cspace_\d+",
            r"SLOT\s+TYPE\s+OID\s+RIGHTS\s+BADGE\s+PARENT",
            r"^    fd:0 +file +\d+ +RW-D +- +\d+:fd:0",
            r"^    fd:2 +file +\d+ +RW-D +- +\d+:fd:2",
            r"^    auth:0 +budget ",
            r"^    auth:1 +netstack ",
        ],
    );
    run(
        &mut m,
        "grep -E '^(Name|State|PPid|Uid):' /proc/self/status",
        &[
            r"^Name:\tgrep",
            r"^State:\tR \(running\)",
            r"^PPid:\t\d+",
            r"^Uid:\t0\t0\t0\t0",
        ],
    );
    run(
        &mut m,
        "cat /proc/meminfo | head -2; cat /proc/sys/kernel/osrelease",
        &[
            r"^MemTotal: +\d+ kB",
            r"^MemFree: +\d+ kB",
            r"^6\.18\.0-writ",
        ],
    );
    // Writing the hostname sysctl renames the machine (the prompt shows it).
    m.send("echo box > /proc/sys/kernel/hostname; uname -n\r")
        .unwrap();
    m.wait_for(r"^box\r?$", T).unwrap();
    m.wait_for(r"box:~# ", T).unwrap();
    m.terminate(Duration::from_secs(1));
}

/// `su` to a user `adduser -D` made: musl's initgroups asks nscd over an AF_UNIX
/// socket before reading /etc/group and gives up when socket(2) is ENOSYS (it takes
/// EAFNOSUPPORT or a failed connect as "no nscd"). With sockets from the network
/// work this passes (checked with socket(2) answering EAFNOSUPPORT); setgroups itself
/// and /proc/self/task are not in the way.
#[test]
fn su_to_a_new_user() {
    let mut m = alpine("procfs_su");
    run(
        &mut m,
        "adduser -D bob 2>/dev/null; echo made",
        &[r"^made\r?$"],
    );
    run(
        &mut m,
        "su bob -c 'id; grep ^Uid: /proc/self/status'",
        &[
            r"^uid=1001\(bob\) gid=1001\(bob\)",
            r"^Uid:\t1001\t1001\t1001\t1001",
        ],
    );
    // A process reads its own CSpace, not another user's (root reads any).
    run(
        &mut m,
        "su bob -c 'grep -c netstack /proc/self/caps; cat /proc/1/caps 2>&1 | head -1'",
        &[r"^1\r?$", r"Permission denied"],
    );
    run(&mut m, "grep -c netstack /proc/1/caps", &[r"^1\r?$"]);
    m.terminate(Duration::from_secs(1));
}
