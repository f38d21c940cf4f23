//! The prediction cache on disk: a case's predictions, keyed by a hash of everything they
//! depend on, so that an unchanged case is predicted once across processes, nextest's test
//! processes and CI runs that keep the folder.
//!
//! Key: blake3 over the cache format, shakedown's version and source, the model file's bytes, the backend,
//! the model's settings (family, classes, input size, thresholds, preprocessing), every image's
//! bytes and id in order, and the perturbation's name, parameter values, suite seed and setting
//! (the seed of its random draws). Value: each image's detections (both selections) or class
//! probabilities, and how a geometric perturbation moved it. A cached case is read back bit for
//! bit, so the cache never changes a score.
//!
//! Entries are written aside and renamed (a reader never sees half an entry, concurrent writers
//! of one key write the same bytes) and carry a blake3 checksum: a corrupt or truncated entry is
//! dropped and recomputed, never trusted. The folder is bounded: after a write the least
//! recently used entries (by modification time, refreshed on every hit) go until it fits.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::outcome::Predictions;
use crate::perturb::Homography;
use crate::vocab::boxes::{Detection, ImageDetections};

/// Bumped whenever the entry layout or what a key covers changes.
const FORMAT: u32 = 1;
const MAGIC: &[u8; 4] = b"SHKC";
/// Magic, format, payload length, payload checksum.
const HEADER: usize = 4 + 4 + 8 + 32;

/// What a case's predictions are cached as.
pub struct Cached {
    pub predictions: Predictions,
    /// How a geometric perturbation moved each image.
    pub motions: Vec<Option<Homography>>,
    /// Where inference ran (`CPU`, `CUDA`, `TensorRT`), for the results file.
    pub runs_on: &'static str,
}

/// The processors a backend reports; an entry naming another is not one of ours.
const PROCESSORS: [&str; 3] = ["CPU", "CUDA", "TensorRT"];

/// A cache key: the blake3 hash of what the predictions depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key([u8; 32]);

/// Builds a key from the parts a case's predictions depend on, each length-prefixed so that
/// no two different sequences of parts hash alike.
pub struct KeyBuilder(blake3::Hasher);

impl Default for KeyBuilder {
    fn default() -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&FORMAT.to_le_bytes());
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        // The source itself (build.rs): other code may predict otherwise.
        hasher.update(env!("SHAKEDOWN_SOURCE_HASH").as_bytes());
        Self(hasher)
    }
}

impl KeyBuilder {
    pub fn part(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    pub fn text(&mut self, text: &str) -> &mut Self {
        self.part(text.as_bytes())
    }

    pub fn key(&self) -> Key {
        Key(*self.0.finalize().as_bytes())
    }
}

/// The blake3 hash of a file's bytes (model files, images).
pub fn file_digest(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(std::fs::File::open(path)?)?;
    Ok(*hasher.finalize().as_bytes())
}

/// How many entries the folder holds and their size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub entries: u64,
    pub bytes: u64,
}

/// The cache folder and its size bound.
#[derive(Debug, Clone)]
pub struct PredictionCache {
    dir: PathBuf,
    max_bytes: u64,
}

impl PredictionCache {
    /// The default bound, `SHAKEDOWN_CACHE_MAX` unset.
    pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

    pub fn new(dir: PathBuf, max_bytes: u64) -> Self {
        Self { dir, max_bytes }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    fn path(&self, key: Key) -> PathBuf {
        let hex = blake3::Hash::from(key.0).to_hex();
        self.dir.join(&hex[..2]).join(format!("{hex}.bin"))
    }

    /// The entry of `key`, when present and intact; a damaged one is removed.
    pub fn get(&self, key: Key) -> Option<Cached> {
        let path = self.path(key);
        let bytes = std::fs::read(&path).ok()?;
        match decode(&bytes) {
            Some(cached) => {
                // A hit makes the entry recently used.
                if let Ok(file) = std::fs::File::options().append(true).open(&path) {
                    let _ = file.set_modified(SystemTime::now());
                }
                Some(cached)
            }
            None => {
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Store a case's predictions under `key`: where inference ran, whether they are class
    /// probabilities, and each image's [`encode_image`] part in dataset order. Then keep the
    /// folder within its bound. Failures are ignored: the cache only ever saves work.
    pub fn put(&self, key: Key, runs_on: &str, classes: bool, parts: &[Vec<u8>]) {
        let path = self.path(key);
        let Some(folder) = path.parent() else { return };
        if std::fs::create_dir_all(folder).is_err() {
            return;
        }
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let partial = folder.join(format!(".{}.{}.{n}.partial", std::process::id(), thread_id()));
        let head = payload_head(runs_on, classes, parts.len());
        let mut pieces = vec![head.as_slice()];
        pieces.extend(parts.iter().map(Vec::as_slice));
        let written = std::fs::File::create(&partial).and_then(|f| {
            let mut out = std::io::BufWriter::new(f);
            write_entry(&mut out, &pieces)?;
            out.flush()
        });
        if written.is_err() || std::fs::rename(&partial, &path).is_err() {
            let _ = std::fs::remove_file(&partial);
            return;
        }
        self.evict();
    }

    /// Every file in the shards with its size and last modification.
    fn files(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        let Ok(shards) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        shards
            .flatten()
            .filter_map(|shard| std::fs::read_dir(shard.path()).ok())
            .flatten()
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((e.path(), meta.len(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
            })
            .collect()
    }

    /// Every entry with its size and last use.
    fn entries(&self) -> Vec<(PathBuf, u64, SystemTime)> {
        self.files().into_iter().filter(|e| e.0.extension().is_some_and(|x| x == "bin")).collect()
    }

    /// Remove the least recently used entries until the folder fits its bound, and partial
    /// files a killed process left (older than an hour: no write takes that long).
    fn evict(&self) {
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
        for (path, _, modified) in self.files() {
            if path.extension().is_some_and(|x| x == "partial") && modified < hour_ago {
                let _ = std::fs::remove_file(path);
            }
        }
        let mut entries = self.entries();
        let mut total: u64 = entries.iter().map(|e| e.1).sum();
        if total <= self.max_bytes {
            return;
        }
        entries.sort_by_key(|e| e.2);
        for (path, size, _) in entries {
            if total <= self.max_bytes {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= size;
            }
        }
    }

    pub fn stats(&self) -> Stats {
        let entries = self.entries();
        Stats { entries: entries.len() as u64, bytes: entries.iter().map(|e| e.1).sum() }
    }

    /// Remove every entry; what was removed.
    pub fn clear(&self) -> std::io::Result<Stats> {
        let stats = self.stats();
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)?;
        }
        Ok(stats)
    }
}

/// A number that tells this thread's partial files from another's.
fn thread_id() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut h);
    h.finish()
}

/// One image's predictions, as an entry stores them (see [`encode_image`]).
pub enum ImagePart<'a> {
    Boxes(&'a ImageDetections),
    Classes(&'a [f32]),
}

/// The start of an entry's payload: where inference ran, the kind, the image count.
fn payload_head(runs_on: &str, classes: bool, images: usize) -> Vec<u8> {
    let mut p = vec![PROCESSORS.iter().position(|r| *r == runs_on).unwrap_or(0) as u8, classes as u8];
    p.extend_from_slice(&(images as u32).to_le_bytes());
    p
}

/// One image's part of an entry's payload: its motion, then its predictions. Workers encode
/// their images as they predict them, so an entry is never held twice.
pub fn encode_image(motion: Option<&Homography>, part: ImagePart) -> Vec<u8> {
    let mut p = Vec::new();
    let put_u32 = |p: &mut Vec<u8>, v: usize| p.extend_from_slice(&(v as u32).to_le_bytes());
    let put_detections = |p: &mut Vec<u8>, list: &[Detection]| {
        put_u32(p, list.len());
        for d in list {
            for v in d.bbox.iter().chain([&d.score]) {
                p.extend_from_slice(&v.to_le_bytes());
            }
            put_u32(p, d.class);
        }
    };
    match motion {
        Some(Homography(m)) => {
            p.push(1);
            m.iter().for_each(|v| p.extend_from_slice(&v.to_le_bytes()));
        }
        None => p.push(0),
    }
    match part {
        ImagePart::Boxes(d) => {
            put_detections(&mut p, &d.val);
            put_detections(&mut p, &d.shown);
        }
        ImagePart::Classes(probabilities) => {
            put_u32(&mut p, probabilities.len());
            probabilities.iter().for_each(|v| p.extend_from_slice(&v.to_le_bytes()));
        }
    }
    p
}

/// Header (magic, format, payload length and checksum), then the payload pieces.
fn write_entry(out: &mut impl Write, pieces: &[&[u8]]) -> std::io::Result<()> {
    let mut hasher = blake3::Hasher::new();
    pieces.iter().for_each(|p| {
        hasher.update(p);
    });
    let length: usize = pieces.iter().map(|p| p.len()).sum();
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT.to_le_bytes())?;
    out.write_all(&(length as u64).to_le_bytes())?;
    out.write_all(hasher.finalize().as_bytes())?;
    pieces.iter().try_for_each(|p| out.write_all(p))
}

#[cfg(test)]
fn parts(predictions: &Predictions, motions: &[Option<Homography>]) -> Vec<Vec<u8>> {
    (0..predictions.len())
        .map(|i| {
            let part = match predictions {
                Predictions::Boxes(all) => ImagePart::Boxes(&all[i]),
                Predictions::Classes(all) => ImagePart::Classes(&all[i]),
            };
            encode_image(motions.get(i).and_then(Option::as_ref), part)
        })
        .collect()
}

#[cfg(test)]
fn encode(Cached { predictions, motions, runs_on }: &Cached) -> Vec<u8> {
    let parts = parts(predictions, motions);
    let head = payload_head(runs_on, matches!(predictions, Predictions::Classes(_)), parts.len());
    let mut pieces = vec![head.as_slice()];
    pieces.extend(parts.iter().map(Vec::as_slice));
    let mut out = Vec::new();
    write_entry(&mut out, &pieces).expect("writing to memory");
    out
}

/// The entry's contents, or `None` for anything but an intact entry of this format.
fn decode(bytes: &[u8]) -> Option<Cached> {
    let header = bytes.get(..HEADER)?;
    let payload = &bytes[HEADER..];
    let length = u64::from_le_bytes(header[8..16].try_into().ok()?);
    let intact = &header[..4] == MAGIC
        && header[4..8] == FORMAT.to_le_bytes()
        && length == payload.len() as u64
        && header[16..48] == *blake3::hash(payload).as_bytes();
    if !intact {
        return None;
    }
    let mut r = Reader(payload);
    let runs_on = *PROCESSORS.get(r.u8()? as usize)?;
    let classes = r.u8()? == 1;
    let images = r.u32()?;
    let mut motions = Vec::with_capacity(images);
    let (mut boxes, mut probabilities) = (Vec::new(), Vec::new());
    for _ in 0..images {
        motions.push(match r.u8()? {
            1 => {
                let mut m = [0.0; 9];
                for v in &mut m {
                    *v = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
                }
                Some(Homography(m))
            }
            _ => None,
        });
        if classes {
            let n = r.u32()?;
            probabilities.push((0..n).map(|_| r.f32()).collect::<Option<Vec<f32>>>()?);
        } else {
            boxes.push(ImageDetections { val: r.detections()?, shown: r.detections()? });
        }
    }
    if !r.0.is_empty() {
        return None;
    }
    let predictions = if classes { Predictions::Classes(probabilities) } else { Predictions::Boxes(boxes) };
    Some(Cached { predictions, motions, runs_on })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    fn f32(&mut self) -> Option<f32> {
        Some(f32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn detections(&mut self) -> Option<Vec<Detection>> {
        let n = self.u32()?;
        (0..n)
            .map(|_| {
                let bbox = [self.f32()?, self.f32()?, self.f32()?, self.f32()?];
                Some(Detection { bbox, score: self.f32()?, class: self.u32()? })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxes() -> Cached {
        let d = |x: f32, class| Detection { bbox: [x, 1.5, x + 10.0, 20.25], score: 0.75, class };
        let images = vec![
            ImageDetections { val: vec![d(1.0, 0), d(3.0, 2)], shown: vec![d(1.0, 0)] },
            ImageDetections::default(),
        ];
        let moved = Homography([1.0, 0.0, 5.0, 0.0, 1.0, -2.0, 0.0, 0.0, 1.0]);
        Cached { predictions: Predictions::Boxes(images), motions: vec![Some(moved), None], runs_on: "CUDA" }
    }

    fn same(a: &Cached, b: &Cached) -> bool {
        (a.motions == b.motions && a.runs_on == b.runs_on)
            && match (&a.predictions, &b.predictions) {
                (Predictions::Boxes(x), Predictions::Boxes(y)) => x == y,
                (Predictions::Classes(x), Predictions::Classes(y)) => x == y,
                _ => false,
            }
    }

    fn cache(max_bytes: u64) -> (tempfile::TempDir, PredictionCache) {
        let dir = tempfile::tempdir().unwrap();
        let cache = PredictionCache::new(dir.path().join("cache"), max_bytes);
        (dir, cache)
    }

    fn put(cache: &PredictionCache, key: Key, cached: &Cached) {
        let classes = matches!(cached.predictions, Predictions::Classes(_));
        cache.put(key, cached.runs_on, classes, &parts(&cached.predictions, &cached.motions));
    }

    fn key(n: u8) -> Key {
        KeyBuilder::default().part(&[n]).key()
    }

    #[test]
    fn entries_read_back_bit_for_bit() {
        let (_dir, cache) = cache(1 << 20);
        let probabilities = Predictions::Classes(vec![vec![0.1, f32::MIN_POSITIVE, 0.9]]);
        let classes = Cached { predictions: probabilities, motions: vec![None], runs_on: "CPU" };
        for (n, value) in [boxes(), classes].iter().enumerate() {
            assert!(cache.get(key(n as u8)).is_none());
            put(&cache, key(n as u8), value);
            assert!(same(&cache.get(key(n as u8)).unwrap(), value));
        }
        assert_eq!(cache.stats().entries, 2);
        assert_eq!(cache.clear().unwrap().entries, 2);
        assert_eq!(cache.stats(), Stats::default());
    }

    #[test]
    fn damaged_entries_are_dropped_not_trusted() {
        let (_dir, cache) = cache(1 << 20);
        let path = cache.path(key(1));
        for damage in [
            |b: &mut Vec<u8>| b.truncate(b.len() - 3),     // cut short
            |b: &mut Vec<u8>| *b.last_mut().unwrap() ^= 1, // one bit flipped
            |b: &mut Vec<u8>| b[5] ^= 0xff,                // another format
        ] {
            put(&cache, key(1), &boxes());
            let mut bytes = std::fs::read(&path).unwrap();
            damage(&mut bytes);
            std::fs::write(&path, bytes).unwrap();
            assert!(cache.get(key(1)).is_none());
            assert!(!path.exists(), "a damaged entry is removed");
        }
    }

    #[test]
    fn the_least_recently_used_entries_go_first() {
        let size = encode(&boxes()).len() as u64;
        let (_dir, cache) = cache(2 * size);
        put(&cache, key(1), &boxes());
        std::thread::sleep(std::time::Duration::from_millis(20));
        put(&cache, key(2), &boxes());
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(cache.get(key(1)).is_some(), "a hit refreshes entry 1");
        std::thread::sleep(std::time::Duration::from_millis(20));
        put(&cache, key(3), &boxes());
        assert!(cache.get(key(2)).is_none(), "entry 2 was used least recently");
        assert!(cache.get(key(1)).is_some() && cache.get(key(3)).is_some());
        assert_eq!(cache.stats().bytes, 2 * size);
    }

    #[test]
    fn keys_tell_their_parts_apart() {
        let a = KeyBuilder::default().text("ab").text("c").key();
        let b = KeyBuilder::default().text("a").text("bc").key();
        assert_ne!(a, b);
        assert_eq!(a, KeyBuilder::default().text("ab").text("c").key());
    }
}
