//! Properties every catalog perturbation must have, at every severity and over many image sizes:
//! no panic, the size is kept, and the same generator state gives the same bytes.

use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shakedown::perturb::case_rng;
use shakedown::perturb::CATALOG;

/// The sizes tried: the degenerate shapes, the parity fixtures' odd and square sizes, issue 14's
/// 256x240 (non-integer scale factors at every severity) and COCO's 640x427, then 40 drawn with
/// a fixed seed (1 to 70 a side).
fn sizes() -> Vec<(u32, u32)> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut sizes = vec![(1, 1), (1, 200), (200, 1), (2, 3), (33, 17), (17, 33), (64, 64), (256, 240), (640, 427)];
    sizes.extend((0..40).map(|_| (rng.random_range(1..=70), rng.random_range(1..=70))));
    sizes
}

/// A busy image: gradients, a hash pattern and saturated corners, so that every kind of
/// perturbation has something to act on.
fn image(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519) >> 24;
        let corner = (x < 2 && y < 2) as u8 * 255;
        image::Rgb([(x * 255 / w.max(2)) as u8 | corner, (y * 255 / h.max(2)) as u8, n as u8])
    })
}

#[test]
fn every_perturbation_keeps_the_size_and_is_deterministic_at_every_size() {
    let sizes = sizes();
    let images: Vec<RgbImage> = sizes.iter().map(|&(w, h)| image(w, h)).collect();
    let mut failures = Vec::new();
    for p in CATALOG {
        for (s, values) in p.severities.iter().enumerate() {
            let op = p.build(values);
            for (i, img) in images.iter().enumerate() {
                let (w, h) = img.dimensions();
                let run = || {
                    let mut rng = case_rng(11, p.name, i as u64);
                    let out = op.apply(img, &mut rng);
                    // What is left of the stream must match too: same draws, not just same pixels.
                    (out, rng.random::<u64>())
                };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (run(), run())));
                let where_ = format!("{} severity {} on {w}x{h}", p.name, s + 1);
                match result {
                    Err(_) => failures.push(format!("{where_}: panicked")),
                    Ok(((a, ra), (b, rb))) => {
                        if a.dimensions() != (w, h) {
                            failures.push(format!("{where_}: came out {:?}", a.dimensions()));
                        } else if a != b || ra != rb {
                            failures.push(format!("{where_}: not deterministic"));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
