//! Median blur: a camera's or app's noise reduction smoothing away fine texture and thin lines.

use image::RgbImage;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "median_blur",
    factor: RiskFactor::Blur,
    summary: "median of each channel over a `ksize` x `ksize` window (edges repeat the border pixel)",
    params: &[ParamInfo {
        name: "ksize",
        unit: "pixels, window side (odd; even values round up)",
        min: 1.0,
        max: 99.0,
        default: 5.0,
        integer: true,
    }],
    // albumentations' MedianBlur default draws the window from 3 to 7: severities 1 to 3.
    severities: [&[3.0], &[5.0], &[7.0], &[9.0], &[11.0]],
    make: |p| Box::new(MedianBlur { radius: (p.get("ksize").round().max(1.0) as usize) / 2 }),
};

pub struct MedianBlur {
    /// Half the window side: the window is `2 * radius + 1` pixels square.
    pub radius: usize,
}

impl Perturbation for MedianBlur {
    fn apply(&self, image: &RgbImage, _rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 || self.radius == 0 {
            return image.clone();
        }
        let out = match self.radius {
            1 => median3(image.as_raw(), w, h),
            r => median_histogram(image.as_raw(), w, h, r),
        };
        RgbImage::from_raw(w as u32, h as u32, out).expect("buffer sized from the image")
    }
}

/// Row `y + dy` of an image of `h` rows, clamped (OpenCV's `BORDER_REPLICATE`, as its medianBlur).
#[inline]
fn row_at(src: &[u8], stride: usize, h: usize, y: usize, dy: isize) -> &[u8] {
    let y = (y as isize + dy).clamp(0, h as isize - 1) as usize;
    &src[y * stride..(y + 1) * stride]
}

/// A row with one pixel repeated at each end, so that every output reads three neighbours.
fn pad_one(row: &[u8], padded: &mut [u8]) {
    let n = row.len();
    padded[..3].copy_from_slice(&row[..3]);
    padded[3..3 + n].copy_from_slice(row);
    padded[3 + n..].copy_from_slice(&row[n - 3..]);
}

/// The left, centre and right neighbours of each value of a `pad_one` row of `n` values.
fn neighbours(padded: &[u8], n: usize) -> (&[u8], &[u8], &[u8]) {
    (&padded[..n], &padded[3..n + 3], &padded[6..n + 6])
}

#[inline]
fn med3(a: u8, b: u8, c: u8) -> u8 {
    a.min(b).max(a.max(b).min(c))
}

/// 3x3 median: sort each column of three, then the median of the nine is the median of the
/// largest low, the middle middle and the smallest high (Paeth's network). Only byte min/max
/// over whole rows, which the compiler vectorises.
fn median3(src: &[u8], w: usize, h: usize) -> Vec<u8> {
    let stride = w * 3;
    let mut out = vec![0u8; src.len()];
    let (mut lo, mut mid, mut hi) = (vec![0u8; stride], vec![0u8; stride], vec![0u8; stride]);
    let padded_len = stride + 6;
    let (mut plo, mut pmid, mut phi) = (vec![0u8; padded_len], vec![0u8; padded_len], vec![0u8; padded_len]);
    for y in 0..h {
        let (a, b, c) = (row_at(src, stride, h, y, -1), row_at(src, stride, h, y, 0), row_at(src, stride, h, y, 1));
        // Slices of exactly `stride`, so that the loops carry no bounds checks.
        let (lo, mid, hi) = (&mut lo[..stride], &mut mid[..stride], &mut hi[..stride]);
        for i in 0..stride {
            let (small, large) = (a[i].min(b[i]), a[i].max(b[i]));
            lo[i] = small.min(c[i]);
            hi[i] = large.max(c[i]);
            mid[i] = small.max(large.min(c[i]));
        }
        pad_one(lo, &mut plo);
        pad_one(mid, &mut pmid);
        pad_one(hi, &mut phi);
        let ((l0, l1, l2), (m0, m1, m2), (h0, h1, h2)) =
            (neighbours(&plo, stride), neighbours(&pmid, stride), neighbours(&phi, stride));
        let row = &mut out[y * stride..(y + 1) * stride];
        for i in 0..stride {
            let max_lo = l0[i].max(l1[i]).max(l2[i]);
            let min_hi = h0[i].min(h1[i]).min(h2[i]);
            row[i] = med3(max_lo, med3(m0[i], m1[i], m2[i]), min_hi);
        }
    }
    out
}

/// Larger windows: Huang's sliding histogram, one per channel, updated by a column in and a
/// column out per step; the median moves from its last value by the few bins that changed.
fn median_histogram(src: &[u8], w: usize, h: usize, r: usize) -> Vec<u8> {
    let stride = w * 3;
    let k = 2 * r + 1;
    // The median is the value with fewer than `half` + 1 values below it and at least as many
    // up to it.
    let half = (k * k / 2) as u32;
    let clamp_x = |x: isize| x.clamp(0, w as isize - 1) as usize * 3;
    let mut out = vec![0u8; src.len()];
    let mut rows: Vec<&[u8]> = Vec::with_capacity(k);
    for y in 0..h {
        rows.clear();
        rows.extend((-(r as isize)..=r as isize).map(|dy| row_at(src, stride, h, y, dy)));
        let mut hist = [[0u32; 256]; 3];
        for row in &rows {
            for dx in -(r as isize)..=r as isize {
                let x = clamp_x(dx);
                for c in 0..3 {
                    hist[c][row[x + c] as usize] += 1;
                }
            }
        }
        // `below[c]`: how many window values are under the current median `med[c]`.
        let mut med = [0usize; 3];
        let mut below = [0u32; 3];
        let out_row = &mut out[y * stride..(y + 1) * stride];
        for x in 0..w {
            if x > 0 {
                let (old, new) = (clamp_x(x as isize - r as isize - 1), clamp_x((x + r) as isize));
                for row in &rows {
                    for c in 0..3 {
                        let (o, n) = (row[old + c] as usize, row[new + c] as usize);
                        hist[c][o] -= 1;
                        hist[c][n] += 1;
                        below[c] = below[c] + (n < med[c]) as u32 - (o < med[c]) as u32;
                    }
                }
            }
            for c in 0..3 {
                let (hc, m, b) = (&hist[c], &mut med[c], &mut below[c]);
                while *b > half {
                    *m -= 1;
                    *b -= hc[*m];
                }
                while *b + hc[*m] <= half {
                    *b += hc[*m];
                    *m += 1;
                }
                out_row[x * 3 + c] = *m as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;
    use rand::Rng;

    /// Sort every window: slow and obviously right.
    fn naive(img: &RgbImage, r: usize) -> RgbImage {
        let (w, h) = (img.width() as isize, img.height() as isize);
        RgbImage::from_fn(img.width(), img.height(), |x, y| {
            let mut px = [0u8; 3];
            for (c, p) in px.iter_mut().enumerate() {
                let mut v = Vec::new();
                for dy in -(r as isize)..=r as isize {
                    for dx in -(r as isize)..=r as isize {
                        let sx = (x as isize + dx).clamp(0, w - 1) as u32;
                        let sy = (y as isize + dy).clamp(0, h - 1) as u32;
                        v.push(img.get_pixel(sx, sy)[c]);
                    }
                }
                v.sort();
                *p = v[v.len() / 2];
            }
            image::Rgb(px)
        })
    }

    fn noisy(w: u32, h: u32, seed: u64) -> RgbImage {
        let mut rng = case_rng(seed, "median", 0);
        // Few distinct levels as well as many, so that ties are exercised.
        RgbImage::from_fn(w, h, |x, _| {
            let spread = if x % 2 == 0 { 256 } else { 4 };
            image::Rgb([0; 3].map(|_: u8| rng.random_range(0..spread) as u8))
        })
    }

    #[test]
    fn matches_sorting_every_window() {
        for (w, h) in [(1, 1), (2, 7), (9, 1), (23, 17)] {
            let img = noisy(w, h, w as u64 * 100 + h as u64);
            for r in 1..=4 {
                let out = MedianBlur { radius: r }.apply(&img, &mut case_rng(0, "", 0));
                assert_eq!(out, naive(&img, r), "{w}x{h} radius {r}");
            }
        }
    }

    #[test]
    fn removes_a_single_pixel_impulse() {
        let mut img = RgbImage::from_pixel(9, 9, image::Rgb([40, 50, 60]));
        img.put_pixel(4, 4, image::Rgb([255, 0, 255]));
        for r in [1, 2] {
            let out = MedianBlur { radius: r }.apply(&img, &mut case_rng(0, "", 0));
            assert!(out.pixels().all(|p| p.0 == [40, 50, 60]), "radius {r}");
        }
    }

    #[test]
    fn ksize_rounds_to_an_odd_window() {
        let img = noisy(11, 11, 5);
        let build = |k: f64| INFO.build(&[k]).apply(&img, &mut case_rng(0, "", 0));
        assert_eq!(build(1.0), img);
        assert_eq!(build(4.0), naive(&img, 2));
        assert_eq!(build(5.0), naive(&img, 2));
    }
}
