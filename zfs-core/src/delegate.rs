//! Forwarding [`Backend`](crate::Backend) methods to an inner backend, for decorators (a tracer, the
//! `Lzc` backend's hand-offs to its CLI backend): [`delegate_backend!`](crate::delegate_backend).

/// Inside an `impl Backend for T` block, writes the named methods as calls of the same method on the
/// field `FIELD` of `self` (any `Backend`, `Box<dyn Backend>` or `&dyn Backend`):
///
/// ```
/// use zfs_core::{delegate_backend, Backend, DatasetName, ListOptions, Listing, ZfsError};
///
/// /// Counts listings, forwards everything.
/// struct Counting {
///     inner: Box<dyn Backend>,
///     lists: std::sync::atomic::AtomicUsize,
/// }
///
/// impl Backend for Counting {
///     fn list(&self, root: &DatasetName, opts: &ListOptions) -> Result<Listing, ZfsError> {
///         self.lists.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         self.inner.list(root, opts)
///     }
///     delegate_backend!(inner; name, host, capabilities, ping, exists, create, snapshot,
///         clone_snapshot, snapshot_recursive, destroy_snapshots, destroy_dataset, hold, hold_temporary, release,
///         holds, bookmark, destroy_bookmarks, send, send_space, receive, receive_abort, receiving, rollback_to,
///         set_user_props, properties, pools, pool_status);
/// }
/// ```
///
/// Every `Backend` method is required, so a method left out of both the list and the block is a
/// compile error, never a silently different answer.
#[macro_export]
macro_rules! delegate_backend {
    ($field:ident; $($method:ident),+ $(,)?) => {
        $( $crate::delegate_backend!(@one $field $method); )+
    };
    (@one $f:ident name) => {
        fn name(&self) -> &'static str {
            self.$f.name()
        }
    };
    (@one $f:ident host) => {
        fn host(&self) -> &str {
            self.$f.host()
        }
    };
    (@one $f:ident capabilities) => {
        fn capabilities(&self) -> $crate::backend::Capabilities {
            self.$f.capabilities()
        }
    };
    (@one $f:ident ping) => {
        fn ping(&self) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.ping()
        }
    };
    (@one $f:ident list) => {
        fn list(
            &self,
            root: &$crate::name::DatasetName,
            opts: &$crate::backend::ListOptions,
        ) -> ::std::result::Result<$crate::listing::Listing, $crate::error::ZfsError> {
            self.$f.list(root, opts)
        }
    };
    (@one $f:ident exists) => {
        fn exists(&self, name: &str) -> ::std::result::Result<bool, $crate::error::ZfsError> {
            self.$f.exists(name)
        }
    };
    (@one $f:ident create) => {
        fn create(
            &self,
            ds: &$crate::name::DatasetName,
            kind: $crate::backend::CreateKind,
            props: &[(String, String)],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.create(ds, kind, props)
        }
    };
    (@one $f:ident snapshot) => {
        fn snapshot(
            &self,
            snaps: &[$crate::name::SnapshotName],
            user_props: &[(String, String)],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.snapshot(snaps, user_props)
        }
    };
    (@one $f:ident clone_snapshot) => {
        fn clone_snapshot(
            &self,
            snap: &$crate::name::SnapshotName,
            new: &$crate::name::DatasetName,
            props: &[(String, String)],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.clone_snapshot(snap, new, props)
        }
    };
    (@one $f:ident snapshot_recursive) => {
        fn snapshot_recursive(
            &self,
            snap: &$crate::name::SnapshotName,
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.snapshot_recursive(snap)
        }
    };
    (@one $f:ident destroy_snapshots) => {
        fn destroy_snapshots(
            &self,
            snaps: &[$crate::name::SnapshotName],
            defer: bool,
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.destroy_snapshots(snaps, defer)
        }
    };
    (@one $f:ident destroy_dataset) => {
        fn destroy_dataset(
            &self,
            ds: &$crate::name::DatasetName,
            recursive: bool,
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.destroy_dataset(ds, recursive)
        }
    };
    (@one $f:ident hold) => {
        fn hold(
            &self,
            holds: &[($crate::name::SnapshotName, String)],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.hold(holds)
        }
    };
    (@one $f:ident hold_temporary) => {
        fn hold_temporary(
            &self,
            holds: &[($crate::name::SnapshotName, String)],
        ) -> ::std::result::Result<$crate::backend::TemporaryHolds, $crate::error::ZfsError> {
            self.$f.hold_temporary(holds)
        }
    };
    (@one $f:ident release) => {
        fn release(
            &self,
            holds: &[($crate::name::SnapshotName, String)],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.release(holds)
        }
    };
    (@one $f:ident holds) => {
        fn holds(
            &self,
            snap: &$crate::name::SnapshotName,
        ) -> ::std::result::Result<
            ::std::collections::BTreeMap<String, i64>,
            $crate::error::ZfsError,
        > {
            self.$f.holds(snap)
        }
    };
    (@one $f:ident bookmark) => {
        fn bookmark(
            &self,
            pairs: &[($crate::name::BookmarkName, $crate::name::VersionName)],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.bookmark(pairs)
        }
    };
    (@one $f:ident destroy_bookmarks) => {
        fn destroy_bookmarks(
            &self,
            bms: &[$crate::name::BookmarkName],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.destroy_bookmarks(bms)
        }
    };
    (@one $f:ident send) => {
        fn send(
            &self,
            req: &$crate::backend::SendRequest,
        ) -> ::std::result::Result<
            ::std::boxed::Box<dyn $crate::backend::SendStream + '_>,
            $crate::error::ZfsError,
        > {
            self.$f.send(req)
        }
    };
    (@one $f:ident send_space) => {
        fn send_space(
            &self,
            to: &$crate::name::SnapshotName,
            from: ::std::option::Option<&$crate::name::VersionName>,
            flags: &$crate::backend::SendFlags,
        ) -> ::std::result::Result<u64, $crate::error::ZfsError> {
            self.$f.send_space(to, from, flags)
        }
    };
    (@one $f:ident receive) => {
        fn receive(
            &self,
            req: &$crate::backend::RecvRequest,
        ) -> ::std::result::Result<
            ::std::boxed::Box<dyn $crate::backend::RecvSink + '_>,
            $crate::error::ZfsError,
        > {
            self.$f.receive(req)
        }
    };
    (@one $f:ident receive_abort) => {
        fn receive_abort(
            &self,
            ds: &$crate::name::DatasetName,
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.receive_abort(ds)
        }
    };
    (@one $f:ident receiving) => {
        fn receiving(
            &self,
        ) -> ::std::result::Result<::std::vec::Vec<::std::string::String>, $crate::error::ZfsError> {
            self.$f.receiving()
        }
    };
    (@one $f:ident rollback_to) => {
        fn rollback_to(
            &self,
            snap: &$crate::name::SnapshotName,
            destroy_newer: bool,
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.rollback_to(snap, destroy_newer)
        }
    };
    (@one $f:ident set_user_props) => {
        fn set_user_props(
            &self,
            target: &str,
            props: &[(String, String)],
        ) -> ::std::result::Result<(), $crate::error::ZfsError> {
            self.$f.set_user_props(target, props)
        }
    };
    (@one $f:ident properties) => {
        fn properties(
            &self,
            root: &$crate::name::DatasetName,
            query: &$crate::props::PropQuery,
        ) -> ::std::result::Result<$crate::props::PropertyMap, $crate::error::ZfsError> {
            self.$f.properties(root, query)
        }
    };
    (@one $f:ident pools) => {
        fn pools(
            &self,
            names: &[$crate::name::PoolName],
        ) -> ::std::result::Result<::std::vec::Vec<$crate::pool::PoolStatus>, $crate::error::ZfsError>
        {
            self.$f.pools(names)
        }
    };
    (@one $f:ident pool_status) => {
        fn pool_status(
            &self,
            names: &[$crate::name::PoolName],
        ) -> ::std::result::Result<::std::vec::Vec<$crate::pool::PoolStatus>, $crate::error::ZfsError>
        {
            self.$f.pool_status(names)
        }
    };
}

// The decorator under test wraps the CLI backend.
#[cfg(all(test, feature = "backends"))]
mod tests {
    use crate::backend::{Backend, Capabilities};
    use crate::cli::Cli;
    use crate::error::ZfsError;

    /// Renames its inner backend and forwards every other method.
    struct Renamed {
        inner: Cli,
    }

    impl Backend for Renamed {
        fn name(&self) -> &'static str {
            "renamed"
        }
        delegate_backend!(inner; host, capabilities, ping, list, exists, create, snapshot,
            clone_snapshot, snapshot_recursive, destroy_snapshots, destroy_dataset, hold, hold_temporary, release,
            holds, bookmark, destroy_bookmarks, send, send_space, receive, receive_abort, receiving, rollback_to,
            set_user_props, properties, pools, pool_status);
    }

    #[test]
    fn forwarded_methods_reach_the_inner_backend() {
        let inner = Cli::local()
            .with_zfs_program("true")
            .with_zpool_program("/nonexistent/zpool");
        let b = Renamed { inner };
        assert_eq!(b.name(), "renamed");
        assert_eq!(b.host(), "localhost");
        assert_eq!(b.capabilities(), Cli::local().capabilities());
        assert_ne!(b.capabilities(), Capabilities::default());
        // `true` stands in for zfs: every zfs command succeeds with no output.
        b.ping().unwrap();
        assert!(b.exists("p/a").unwrap());
        assert!(b
            .holds(&crate::SnapshotName::parse("p/a@s").unwrap())
            .unwrap()
            .is_empty());
        // Validation still happens in the inner backend, before anything runs.
        assert!(matches!(b.exists("p/a;b"), Err(ZfsError::InvalidName(_))));
        // pools and pool_status are forwarded too (the decorator of old forgot them): the inner
        // backend's missing zpool answers, not "unsupported".
        assert!(matches!(b.pools(&[]), Err(ZfsError::Io { .. })));
        assert!(matches!(b.pool_status(&[]), Err(ZfsError::Io { .. })));
    }
}
