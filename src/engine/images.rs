//! The dataset's images, decoded on demand and kept only while they fit in a memory budget
//! (`SHAKEDOWN_MEMORY`): a small suite is decoded once, a COCO-scale one streams through the
//! engine, each worker decoding, perturbing and inferring one image at a time.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use image::RgbImage;

/// Decoded images kept between cases, at most `budget` bytes of pixels.
pub struct DecodedImages {
    slots: Vec<OnceLock<Arc<RgbImage>>>,
    budget: u64,
    kept: AtomicU64,
}

impl DecodedImages {
    pub fn new(images: usize, budget: u64) -> Self {
        Self { slots: (0..images).map(|_| OnceLock::new()).collect(), budget, kept: AtomicU64::new(0) }
    }

    /// Image `i` (at `path`) as RGB: kept from an earlier case, or decoded now and kept if it
    /// fits. The first images decoded fill the budget and stay; the others are decoded each
    /// time a case needs them, which for a sequential pass over a dataset larger than the
    /// budget re-decodes fewer images than evicting the least recently used would.
    pub fn get(&self, i: usize, path: &Path) -> Result<Arc<RgbImage>, String> {
        if let Some(image) = self.slots[i].get() {
            return Ok(image.clone());
        }
        let image = Arc::new(decode(path)?);
        let bytes = image.as_raw().len() as u64;
        let fits = self
            .kept
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |k| Some(k + bytes).filter(|&t| t <= self.budget));
        if fits.is_ok() && self.slots[i].set(image.clone()).is_err() {
            // Another worker kept the same image first.
            self.kept.fetch_sub(bytes, Ordering::AcqRel);
        }
        Ok(image)
    }

    /// Bytes of pixels kept now.
    pub fn kept_bytes(&self) -> u64 {
        self.kept.load(Ordering::Acquire)
    }
}

/// One image file decoded to 8-bit RGB.
pub fn decode(path: &Path) -> Result<RgbImage, String> {
    image::open(path).map(|i| i.into_rgb8()).map_err(|e| e.to_string())
}

/// The budget for decoded images when `SHAKEDOWN_MEMORY` does not set one: 1/64 of the
/// machine's memory, at least 256 MiB. Small enough that a dataset's size barely moves a test
/// process's peak memory (nextest runs one process per test), large enough that the shipped
/// suites (at most 61 MB of pixels) are decoded once per process.
pub fn default_budget() -> u64 {
    const FLOOR: u64 = 256 << 20;
    total_memory().map_or(FLOOR, |total| (total / 64).max(FLOOR))
}

/// Physical memory in bytes, where the system says it (Linux `/proc/meminfo`).
fn total_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(dir: &Path, name: &str, w: u32, h: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7])).save(&path).unwrap();
        path
    }

    #[test]
    fn images_are_kept_only_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<_> = (0..3).map(|i| write_png(dir.path(), &format!("{i}.png"), 10, 10)).collect();
        // 300 bytes each: two fit in 700, the third is decoded every time.
        let images = DecodedImages::new(3, 700);
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(images.get(i, p).unwrap().dimensions(), (10, 10));
        }
        assert_eq!(images.kept_bytes(), 600);
        std::fs::remove_file(&paths[0]).unwrap();
        std::fs::remove_file(&paths[2]).unwrap();
        assert!(images.get(0, &paths[0]).is_ok(), "kept: not read again");
        let err = images.get(2, &paths[2]).unwrap_err();
        assert!(err.contains("No such file"), "{err}");
        assert_eq!(images.kept_bytes(), 600);
    }

    #[test]
    fn a_zero_budget_keeps_nothing_and_still_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_png(dir.path(), "a.png", 4, 3);
        let images = DecodedImages::new(1, 0);
        assert_eq!(images.get(0, &path).unwrap().get_pixel(3, 2).0, [3, 2, 7]);
        assert_eq!(images.kept_bytes(), 0);
    }

    #[test]
    fn the_default_budget_is_a_fraction_of_memory_with_a_floor() {
        let budget = default_budget();
        assert!(budget >= 256 << 20);
        if let Some(total) = total_memory() {
            assert!(budget <= (total / 64).max(256 << 20));
        }
    }
}
