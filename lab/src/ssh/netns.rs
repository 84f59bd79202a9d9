//! A backup host's network: a network namespace joined to the VM's main one by a veth pair, with
//! a /30 of 10.251.0.0/16 (addresses that exist only inside the VM) picked by the host's slot.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use crate::LabError;

/// How many hosts the address range holds at once.
pub const SLOTS: u32 = 1 << 14;

/// The addresses of slot `slot`: the VM's end (main namespace) and the host's end.
pub fn addresses(slot: u32) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(Ipv4Addr::new(10, 251, 0, 0)) + (slot % SLOTS) * 4;
    (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2))
}

/// A network namespace with a veth pair; deleted (with the pair) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    outer: String,
    /// The host's end of the pair (what its sshd listens on).
    pub address: Ipv4Addr,
}

impl Netns {
    /// Creates namespace `zlab-ssh-SLOT` with veth `zls{SLOT}a` (VM side) and `zls{SLOT}b`.
    pub fn create(slot: u32) -> Result<Netns, LabError> {
        let name = format!("zlab-ssh-{slot}");
        let (outer_address, address) = addresses(slot);
        ip(&["netns", "add", &name])?;
        // From here on, drop deletes whatever was made.
        let netns = Netns {
            name,
            outer: format!("zls{slot}a"),
            address,
        };
        let inner = format!("zls{slot}b");
        let (outer, ns) = (netns.outer.as_str(), netns.name.as_str());
        let outer_cidr = format!("{outer_address}/30");
        let inner_cidr = format!("{address}/30");
        ip(&[
            "link", "add", outer, "type", "veth", "peer", "name", &inner, "netns", ns,
        ])?;
        ip(&["addr", "add", &outer_cidr, "dev", outer])?;
        ip(&["link", "set", outer, "up"])?;
        ip(&["-n", ns, "addr", "add", &inner_cidr, "dev", &inner])?;
        ip(&["-n", ns, "link", "set", &inner, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// The namespace's name (as `ip netns list` shows it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file that names the namespace (`/run/netns/NAME`).
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Takes the VM's end of the pair down (`false`: the host stops answering) or up again.
    pub fn set_link(&self, up: bool) -> Result<(), LabError> {
        ip(&["link", "set", &self.outer, if up { "up" } else { "down" }])?;
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace destroys its end of the pair and so the pair.
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!(
                "zsync-lab: could not delete network namespace {}: {e}",
                self.name
            );
        }
        let _ = ip(&["link", "del", &self.outer]);
    }
}

fn ip(args: &[&str]) -> Result<String, LabError> {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    crate::output(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_get_disjoint_slash_30s() {
        assert_eq!(
            addresses(0),
            (Ipv4Addr::new(10, 251, 0, 1), Ipv4Addr::new(10, 251, 0, 2))
        );
        assert_eq!(
            addresses(1),
            (Ipv4Addr::new(10, 251, 0, 5), Ipv4Addr::new(10, 251, 0, 6))
        );
        assert_eq!(
            addresses(64),
            (Ipv4Addr::new(10, 251, 1, 1), Ipv4Addr::new(10, 251, 1, 2))
        );
        assert_eq!(addresses(SLOTS - 1).1, Ipv4Addr::new(10, 251, 255, 254));
    }
}
