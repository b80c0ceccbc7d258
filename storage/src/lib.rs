//! Where recordings and uploaded greetings live: an object store behind one small interface.
//! Local disk is the embedded default (a directory under the data dir); production points
//! `NMC_STORAGE_URL` at an S3-compatible bucket (`s3://bucket/prefix`, with `AWS_ENDPOINT_URL`,
//! `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, the AWS tools' own names).
//! Keys are always made by us (`recordings/{business}/{id}.wav`), never taken from a request.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    #[error("storage is misconfigured: {0}")]
    Config(String),
    #[error("storage: {0}")]
    Backend(String),
}

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            other => StorageError::Backend(other.to_string()),
        }
    }
}

#[derive(Clone)]
pub struct Storage {
    inner: Arc<dyn ObjectStore>,
    /// Where it is, for the start-up log (no credentials).
    pub describe: String,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl Storage {
    /// A directory on local disk (made if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir).map_err(|e| StorageError::Config(e.to_string()))?;
        let fs = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            inner: Arc::new(fs),
            describe: format!("local disk at {}", dir.display()),
        })
    }

    /// An S3-compatible bucket. `endpoint`: e.g. `http://127.0.0.1:9000` (path-style requests,
    /// as MinIO and most S3-compatible servers want); `None` for AWS itself.
    pub fn s3(
        bucket: &str,
        endpoint: Option<&str>,
        region: &str,
        key_id: &str,
        secret: &str,
    ) -> Result<Self, StorageError> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret);
        if let Some(e) = endpoint {
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let s3 = b.build()?;
        Ok(Self {
            inner: Arc::new(s3),
            describe: format!("s3 bucket {bucket} at {}", endpoint.unwrap_or("AWS")),
        })
    }

    /// From the environment (`get` reads one variable): `NMC_STORAGE_URL` = `file:///dir` or
    /// `s3://bucket`; unset, `default_dir` on local disk.
    pub fn from_vars(
        get: impl Fn(&str) -> Option<String>,
        default_dir: &std::path::Path,
    ) -> Result<Self, StorageError> {
        let Some(url) = get("NMC_STORAGE_URL") else {
            return Self::local(default_dir);
        };
        if let Some(dir) = url.strip_prefix("file://") {
            return Self::local(std::path::Path::new(dir));
        }
        let Some(bucket) = url.strip_prefix("s3://") else {
            return Err(StorageError::Config(format!(
                "NMC_STORAGE_URL must start with file:// or s3:// (got `{url}`)"
            )));
        };
        let need = |n: &str| {
            get(n).ok_or_else(|| StorageError::Config(format!("{n} must be set for s3:// storage")))
        };
        Self::s3(
            bucket.trim_end_matches('/'),
            get("AWS_ENDPOINT_URL").as_deref(),
            &get("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
            &need("AWS_ACCESS_KEY_ID")?,
            &need("AWS_SECRET_ACCESS_KEY")?,
        )
    }

    /// Stores `bytes` at `key` (replacing what was there). The content type is kept by the
    /// caller beside the key: the local store cannot keep attributes.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.inner
            .put(&Path::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let got = self.inner.get(&Path::from(key)).await?;
        Ok(got.bytes().await?.to_vec())
    }

    /// Deletes every object under `prefix` (a business's recordings when it leaves).
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), StorageError> {
        use futures_util::TryStreamExt;
        let listed: Vec<_> = self
            .inner
            .list(Some(&Path::from(prefix)))
            .try_collect()
            .await?;
        for meta in listed {
            self.delete(meta.location.as_ref()).await?;
        }
        Ok(())
    }

    /// Deletes an object whose row is already gone (nothing links to it): a failure is logged
    /// with `what` it was, for operations to delete by hand, never an error for the caller.
    pub async fn forget(&self, key: &str, what: &str) {
        if let Err(e) = self.delete(key).await {
            tracing::warn!(error = %e, "{what} was not deleted from storage; delete it by hand");
        }
    }

    /// Deletes an object; one already gone counts as deleted.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
