//! A target's `receive_resume_token`, decoded: where an interrupted receive stopped and how its
//! stream was sent. The planner reads it to plan a resume and both backends send from it
//! ([`SendRequest::resume`](crate::backend::SendRequest::resume)). zfs-core does not decode tokens
//! (that needs zlib and the packed-nvlist format): zfs-stream's `resume::decode` does.

use serde::{Deserialize, Serialize};

/// A decoded `receive_resume_token`: the token string and the facts inside it that a resume needs.
/// Serializes with GUIDs as decimal strings (`saved` only when set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeToken {
    /// The token string as ZFS printed it, without surrounding whitespace (`zfs send -t`).
    pub token: String,
    /// GUID of the snapshot the interrupted stream ends at (`toguid`).
    #[serde(with = "crate::guid_str")]
    pub toguid: u64,
    /// GUID of its incremental source (`fromguid`); `None` for a full stream.
    #[serde(with = "crate::guid_str::option", default)]
    pub fromguid: Option<u64>,
    /// Name of the snapshot being sent, as the sender spelled it (`pool/ds@snap`, `toname`).
    pub toname: String,
    /// Object number to resume at (`object`; `resumeobj` of `lzc_send_resume`).
    #[serde(default)]
    pub object: u64,
    /// Offset in that object (`offset`; `resumeoff` of `lzc_send_resume`).
    #[serde(default)]
    pub offset: u64,
    /// Stream bytes already received (`bytes`).
    #[serde(default)]
    pub bytes: u64,
    /// The stream is raw (`rawok`, `-w`).
    #[serde(default)]
    pub raw: bool,
    /// The stream uses large blocks (`largeblockok`, `-L`).
    #[serde(default)]
    pub large_block: bool,
    /// The stream embeds small blocks (`embedok`, `-e`).
    #[serde(default)]
    pub embed: bool,
    /// The stream keeps on-disk compression (`compressok`, `-c`).
    #[serde(default)]
    pub compressed: bool,
    /// The stream was sent from a receive's saved state (`savedok`, `-S`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub saved: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ResumeToken {
    /// A token for the snapshot `toname` (`toguid`), incremental from `fromguid`, stopped at the
    /// stream's start (object, offset and bytes 0) with no stream flags; set the public fields for
    /// more. For plans built by hand; a real token comes from zfs-stream's decoder.
    pub fn new(token: String, toname: String, toguid: u64, fromguid: Option<u64>) -> ResumeToken {
        ResumeToken {
            token,
            toguid,
            fromguid,
            toname,
            object: 0,
            offset: 0,
            bytes: 0,
            raw: false,
            large_block: false,
            embed: false,
            compressed: false,
            saved: false,
        }
    }

    /// Whether the interrupted send was incremental (a non-zero `fromguid`).
    pub fn is_incremental(&self) -> bool {
        self.fromguid.is_some_and(|g| g != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> ResumeToken {
        ResumeToken {
            object: 1,
            offset: 2,
            bytes: 3,
            raw: true,
            embed: true,
            ..ResumeToken::new(
                "1-abc".into(),
                "p/a@5".into(),
                17293822569102704645,
                Some(5),
            )
        }
    }

    #[test]
    fn json_is_the_plan_schema() {
        // What plan JSON (schema 1) has always carried for a token; `saved` only when set.
        let t = token();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"token":"1-abc","toguid":"17293822569102704645","fromguid":"5","toname":"p/a@5","object":1,"offset":2,"bytes":3,"raw":true,"large_block":false,"embed":true,"compressed":false}"#
        );
        assert_eq!(serde_json::from_str::<ResumeToken>(&json).unwrap(), t);
        let full = ResumeToken {
            fromguid: None,
            saved: true,
            ..t
        };
        let json = serde_json::to_string(&full).unwrap();
        assert!(json.contains(r#""fromguid":null"#) && json.ends_with(r#""saved":true}"#));
        assert_eq!(serde_json::from_str::<ResumeToken>(&json).unwrap(), full);
        // Numbers are read as GUIDs too; absent counters and flags are zero.
        let short = r#"{"token":"1-x","toguid":7,"toname":"p/a@s"}"#;
        let t = serde_json::from_str::<ResumeToken>(short).unwrap();
        assert_eq!((t.toguid, t.fromguid, t.object, t.raw), (7, None, 0, false));
    }

    #[test]
    fn incremental_needs_a_nonzero_fromguid() {
        assert!(token().is_incremental());
        for fromguid in [None, Some(0)] {
            let t = ResumeToken {
                fromguid,
                ..token()
            };
            assert!(!t.is_incremental());
        }
    }
}
