//! The object storage contract: the local-disk default and an S3-compatible server (moto's
//! server mode, a real HTTP S3 with SigV4-signed, path-style requests) behave the same.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nmc_storage::{Storage, StorageError};

async fn contract(store: &Storage) {
    let wav = b"RIFF....WAVEfmt a recording".to_vec();
    store
        .put("recordings/b1/r1.wav", wav.clone())
        .await
        .unwrap();
    store
        .put("recordings/b1/r2.wav", b"two".to_vec())
        .await
        .unwrap();
    store
        .put("recordings/b2/r3.wav", b"three".to_vec())
        .await
        .unwrap();
    assert_eq!(store.get("recordings/b1/r1.wav").await.unwrap(), wav);
    // Replacing keeps one copy.
    store
        .put("recordings/b1/r2.wav", b"two again".to_vec())
        .await
        .unwrap();
    assert_eq!(
        store.get("recordings/b1/r2.wav").await.unwrap(),
        b"two again"
    );
    assert!(matches!(
        store.get("recordings/b1/nothing.wav").await,
        Err(StorageError::NotFound)
    ));
    // Deleting twice is fine; a business's prefix goes without touching another's.
    store.delete("recordings/b1/r1.wav").await.unwrap();
    store.delete("recordings/b1/r1.wav").await.unwrap();
    assert!(matches!(
        store.get("recordings/b1/r1.wav").await,
        Err(StorageError::NotFound)
    ));
    store.delete_prefix("recordings/b1/").await.unwrap();
    assert!(matches!(
        store.get("recordings/b1/r2.wav").await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(store.get("recordings/b2/r3.wav").await.unwrap(), b"three");
}

#[tokio::test]
async fn local_disk_keeps_the_contract() {
    let dir = std::env::temp_dir().join(format!("nmc-storage-{}", uuid::Uuid::new_v4()));
    contract(&Storage::local(&dir).unwrap()).await;
    let _ = std::fs::remove_dir_all(dir);
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_s3_compatible_server_keeps_the_contract() {
    let path = std::env::var("NMC_MOTO_PATH").expect("NMC_MOTO_PATH (scripts/test installs moto)");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("PYTHONPATH", &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto server starts"),
    );
    let endpoint = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    nmc_tests::wait_until(Duration::from_secs(20), "the S3 server", || async {
        http.put(format!("{endpoint}/nmc-recordings"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    let vars = |n: &str| match n {
        "NMC_STORAGE_URL" => Some("s3://nmc-recordings".to_owned()),
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_ACCESS_KEY_ID" => Some("nmc-test".to_owned()),
        "AWS_SECRET_ACCESS_KEY" => Some("nmc-test-secret".to_owned()),
        _ => None,
    };
    let store = Storage::from_vars(vars, std::path::Path::new("/nonexistent")).unwrap();
    assert!(store.describe.contains("s3 bucket nmc-recordings"));
    contract(&store).await;
    // Misconfigured: a clear error at start, not at the first voicemail.
    let missing = Storage::from_vars(
        |n| (n == "NMC_STORAGE_URL").then(|| "s3://bucket".to_owned()),
        std::path::Path::new("/nonexistent"),
    );
    assert!(matches!(missing, Err(StorageError::Config(m)) if m.contains("AWS_ACCESS_KEY_ID")));
}
