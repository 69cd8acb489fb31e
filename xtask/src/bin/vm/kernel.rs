//! The guest kernel: Debian's cloud kernel packages fetched (apt or the suite's index on
//! deb.debian.org), verified and unpacked into `.vm-cache/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{MODULES, Res, run};

/// A guest kernel: Debian bookworm's 6.1 cloud kernel (the default, through apt), or trixie's
/// 6.12 cloud kernel (fetched from deb.debian.org's trixie index: it has what 6.1 lacks, such as
/// BTF argument names in probe events and fprobes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guest {
    Bookworm61,
    Trixie612,
    Sid,
}

impl Guest {
    /// Modules to load, in order, relative to the modules' `kernel/` directory.
    pub(crate) fn modules(self) -> &'static [&'static str] {
        match self {
            Guest::Bookworm61 => MODULES,
            // virtio and virtio_pci are built in; modules are xz-compressed.
            Guest::Trixie612 | Guest::Sid => &[
                "drivers/block/virtio_blk.ko.xz",
                "fs/configfs/configfs.ko.xz",
                "drivers/block/null_blk/null_blk.ko.xz",
            ],
        }
    }
}

/// Downloads and unpacks the guest kernel; returns (vmlinuz, modules dir).
pub(crate) fn kernel(cache: &Path, guest: Guest) -> Res<(PathBuf, PathBuf)> {
    match guest {
        Guest::Trixie612 => return kernel_612(cache),
        Guest::Sid => return kernel_sid(cache),
        Guest::Bookworm61 => {}
    }
    let list = run(
        Command::new("apt-cache").args(["search", "--names-only", r"^linux-image-6\.1\.0-[0-9]+-cloud-amd64$"]),
        "apt-cache search for the VM kernel",
    )?;
    let mut pkgs: Vec<(u32, String)> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|p| Some((p.strip_prefix("linux-image-6.1.0-")?.split('-').next()?.parse().ok()?, p.to_owned())))
        .collect();
    pkgs.sort();
    let (_, pkg) = pkgs.pop().ok_or(
        "no linux-image-6.1.0-*-cloud-amd64 package found: run `apt-get update` (Debian bookworm sources needed)",
    )?;
    let dir = cache.join(&pkg);
    let done = dir.join(".unpacked");
    if !done.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        eprintln!("vm: downloading {pkg}");
        run(Command::new("apt-get").arg("download").arg(&pkg).current_dir(&dir), "apt-get download")?;
        let deb = std::fs::read_dir(&dir)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or(format!("apt-get download {pkg} left no .deb"))?;
        run(Command::new("dpkg").arg("-x").arg(&deb).arg(dir.join("root")), "dpkg -x")?;
        let _ = std::fs::remove_file(&deb);
        std::fs::write(&done, "").map_err(|e| e.to_string())?;
    }
    unpacked(&dir, "root/lib/modules")
}

/// Trixie's newest 6.12 cloud kernel, found in the trixie `Packages` index (curl + xz) and
/// unpacked with `dpkg -x` (no apt sources are changed).
fn kernel_612(cache: &Path) -> Res<(PathBuf, PathBuf)> {
    let text = index_text(cache, "trixie")?;
    // Newest `linux-image-6.12.N+debXX-cloud-amd64` (one package: vmlinuz and modules).
    let mut best: Option<(u32, String, String)> = None;
    for (pkg, file) in cloud_packages(&text) {
        let Some(rest) = pkg.strip_prefix("linux-image-6.12.") else { continue };
        let n: u32 = rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|v| v.parse().ok()).unwrap_or(0);
        if best.as_ref().is_none_or(|b| n > b.0) {
            best = Some((n, pkg.to_owned(), file.to_owned()));
        }
    }
    let (_, pkg, file) = best.ok_or("no linux-image-6.12.*-cloud-amd64 in the trixie index")?;
    let dir = cache.join(&pkg);
    fetch_debs(&dir, &[file])?;
    unpacked(&dir, "root/usr/lib/modules")
}

/// Debian sid's newest cloud kernel (7.x here: blktrace v2 with BLKTRACESETUP2), shipped as
/// `linux-binary-VER` (vmlinuz) and `linux-modules-VER`.
fn kernel_sid(cache: &Path) -> Res<(PathBuf, PathBuf)> {
    let text = index_text(cache, "sid")?;
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let mut best: Option<((u32, u32, u32), String)> = None;
    for (pkg, file) in cloud_packages(&text) {
        files.insert(pkg.to_owned(), file.to_owned());
        if let Some(ver) = pkg.strip_prefix("linux-modules-").and_then(|v| v.strip_suffix("-cloud-amd64")) {
            let mut nums = ver.split(|c: char| !c.is_ascii_digit()).filter_map(|v| v.parse::<u32>().ok());
            let key = (nums.next().unwrap_or(0), nums.next().unwrap_or(0), nums.next().unwrap_or(0));
            if best.as_ref().is_none_or(|b| key > b.0) {
                best = Some((key, ver.to_owned()));
            }
        }
    }
    let (_, ver) = best.ok_or("no linux-modules-*-cloud-amd64 in the sid index")?;
    let (Some(bin), Some(modules)) =
        (files.get(&format!("linux-binary-{ver}-cloud-amd64")), files.get(&format!("linux-modules-{ver}-cloud-amd64")))
    else {
        return Err(format!("sid has linux-modules-{ver}-cloud-amd64 but not its linux-binary package"));
    };
    let dir = cache.join(format!("linux-{ver}-cloud-amd64"));
    fetch_debs(&dir, &[bin.clone(), modules.clone()])?;
    let root = dir.join("root/usr/lib/modules").join(format!("{ver}-cloud-amd64"));
    let vmlinuz = root.join("vmlinuz");
    if !vmlinuz.exists() {
        return Err(format!("{} missing from linux-binary-{ver}", vmlinuz.display()));
    }
    Ok((vmlinuz, root.join("kernel")))
}

/// `(Package, Filename)` of the `*-cloud-amd64` stanzas of a `Packages` index.
fn cloud_packages(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.split("\n\n").filter_map(|stanza| {
        let field = |k: &str| stanza.lines().find_map(|l| l.strip_prefix(k)).map(str::trim);
        Some((field("Package:")?, field("Filename:")?)).filter(|(p, _)| p.ends_with("-cloud-amd64"))
    })
}

const MIRROR: &str = "http://deb.debian.org/debian";

/// A suite's `Packages` index, decompressed (cached in `cache`, refetched after a day: the mirror
/// drops superseded kernels).
fn index_text(cache: &Path, suite: &str) -> Res<String> {
    let index = cache.join(format!("{suite}-Packages.xz"));
    let stale = std::fs::metadata(&index)
        .and_then(|m| m.modified())
        .map_or(true, |t| t.elapsed().map_or(true, |age| age > Duration::from_secs(86_400)));
    if stale {
        eprintln!("vm: fetching the {suite} package index");
        run(
            Command::new("curl")
                .args(["-fsS", "--retry", "3", "-o"])
                .arg(&index)
                .arg(format!("{MIRROR}/dists/{suite}/main/binary-amd64/Packages.xz")),
            "curl (install curl)",
        )?;
    }
    run(Command::new("xz").arg("-dc").arg(&index), "xz (install xz-utils)")
}

/// Downloads pool files into `dir` and unpacks them into `dir/root`, once.
fn fetch_debs(dir: &Path, files: &[String]) -> Res<()> {
    let done = dir.join(".unpacked");
    if done.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for file in files {
        eprintln!("vm: downloading {file}");
        let deb = dir.join("package.deb");
        run(
            Command::new("curl").args(["-fsS", "--retry", "3", "-o"]).arg(&deb).arg(format!("{MIRROR}/{file}")),
            "curl a kernel package",
        )?;
        run(Command::new("dpkg").arg("-x").arg(&deb).arg(dir.join("root")), "dpkg -x")?;
        let _ = std::fs::remove_file(&deb);
    }
    std::fs::write(&done, "").map_err(|e| e.to_string())
}

/// The vmlinuz and the modules' `kernel/` directory of a kernel package unpacked in `dir`.
fn unpacked(dir: &Path, modules: &str) -> Res<(PathBuf, PathBuf)> {
    let boot = dir.join("root/boot");
    let vmlinuz = std::fs::read_dir(&boot)
        .map_err(|e| format!("{}: {e}", boot.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-")))
        .ok_or("the kernel package has no vmlinuz")?;
    let moddir = std::fs::read_dir(dir.join(modules))
        .map_err(|e| e.to_string())?
        .flatten()
        .next()
        .ok_or("the kernel package has no modules")?
        .path()
        .join("kernel");
    Ok((vmlinuz, moddir))
}
