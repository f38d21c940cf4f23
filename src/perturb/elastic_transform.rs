//! Elastic transform: a smooth random displacement field wobbles pixels in place; labels stay put.

use image::RgbImage;
use rand::Rng;

use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "elastic_transform",
    factor: RiskFactor::Geometry,
    summary: "local wobble: a Gaussian-smoothed random displacement field, bilinear resampling; boxes stay put",
    params: &[
        ParamInfo {
            name: "alpha",
            unit: "gain on the smoothed displacement field",
            min: 0.0,
            max: 200.0,
            default: 21.25,
            integer: false,
        },
        ParamInfo {
            name: "sigma",
            unit: "fraction of each image side (Gaussian smoothing of the field along that axis)",
            min: 0.0,
            max: 0.2,
            default: 0.01,
            integer: false,
        },
        ParamInfo {
            name: "amplitude",
            unit: "fraction of the image height (largest raw displacement before smoothing)",
            min: 0.0,
            max: 0.1,
            default: 0.005,
            integer: false,
        },
    ],
    // imagecorruptions' elastic_transform severities: alpha = 250 * (0.05, 0.065, 0.085, 0.1, 0.12),
    // sigma 1 % of each side, raw displacements uniform within 0.5 % of the height.
    severities: [
        &[12.5, 0.01, 0.005],
        &[16.25, 0.01, 0.005],
        &[21.25, 0.01, 0.005],
        &[25.0, 0.01, 0.005],
        &[30.0, 0.01, 0.005],
    ],
    make: |p| {
        Box::new(ElasticTransform {
            alpha: p.get("alpha") as f32,
            sigma: p.get("sigma") as f32,
            amplitude: p.get("amplitude") as f32,
        })
    },
};

/// ImageNet-C's elastic transform as imagecorruptions 1.1.2 has it, which (unlike the original
/// ImageNet-C code) has no random affine step: every pixel moves by a few pixels at most and its
/// neighbours move with it, so objects wobble in place. Labels are therefore NOT moved: boxes stay
/// where they were.
pub struct ElasticTransform {
    pub alpha: f32,
    pub sigma: f32,
    pub amplitude: f32,
}

impl Perturbation for ElasticTransform {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        remap(image, &self.field(w, h, rng))
    }
}

/// A displacement field sampled every `step` pixels (bilinear in between): `dx` and `dy` are
/// `gw` x `gh` grids whose point (i, j) is pixel (i * step, j * step).
struct Field {
    step: usize,
    gw: usize,
    gh: usize,
    dx: Vec<f32>,
    dy: Vec<f32>,
}

impl ElasticTransform {
    /// As the original: both components drawn uniformly within +-amplitude * height (x first,
    /// then y), smoothed per axis (sigma * height down, sigma * width across), times alpha.
    ///
    /// A field smoothed over more than 4 pixels is drawn on a grid `step` pixels apart instead,
    /// with the noise divided by `step` (a kernel then covers step^2 times fewer samples, each
    /// weighing step^2 times more, so the smoothed field keeps its variance), and interpolated:
    /// the same statistics for step^3 times less work. Small images (and the parity fixtures)
    /// take the exact per-pixel path.
    fn field(&self, w: usize, h: usize, rng: &mut CaseRng) -> Field {
        let (sx, sy) = (self.sigma * w as f32, self.sigma * h as f32);
        let step = ((sx.min(sy) / 2.0) as usize).max(1);
        // Grid points up to and including one past the last pixel, so interpolation has both ends.
        let (gw, gh) = if step == 1 { (w, h) } else { ((w - 1) / step + 2, (h - 1) / step + 2) };
        let max = self.amplitude * h as f32 / step as f32;
        let (kx, ky) = (kernel(sx / step as f32), kernel(sy / step as f32));
        let component = |rng: &mut CaseRng| {
            let noise: Vec<f32> = (0..gw * gh).map(|_| (2.0 * rng.random::<f32>() - 1.0) * max).collect();
            let mut f = smooth(&noise, gw, gh, &kx, &ky);
            f.iter_mut().for_each(|v| *v *= self.alpha);
            f
        };
        let dx = component(rng);
        let dy = component(rng);
        Field { step, gw, gh, dx, dy }
    }
}

/// scipy's `gaussian_filter1d` weights with `truncate = 3`, as the original passes.
fn kernel(sigma: f32) -> Vec<f32> {
    if sigma <= 0.0 {
        return vec![1.0];
    }
    let radius = (3.0 * sigma + 0.5) as i32;
    let k: Vec<f32> = (-radius..=radius).map(|x| (-0.5 * (x * x) as f32 / (sigma * sigma)).exp()).collect();
    let total: f32 = k.iter().sum();
    k.into_iter().map(|v| v / total).collect()
}

/// scipy's `mode='reflect'` (half-sample symmetric: d c b a | a b c d | d c b a) index of `i` in
/// a line of `n` pixels.
#[inline]
fn symmetric(i: isize, n: usize) -> usize {
    if (0..n as isize).contains(&i) {
        return i as usize;
    }
    let m = i.rem_euclid(2 * n as isize) as usize;
    if m < n {
        m
    } else {
        2 * n - 1 - m
    }
}

/// Separable correlation of a one-channel field with `kx` across and `ky` down, reflect border.
/// Each tap runs over a whole row so that the loops vectorise.
fn smooth(data: &[f32], w: usize, h: usize, kx: &[f32], ky: &[f32]) -> Vec<f32> {
    let (rx, ry) = (kx.len() / 2, ky.len() / 2);
    let mut across = vec![0f32; w * h];
    let mut padded = vec![0f32; w + 2 * rx];
    for (row, out) in data.chunks_exact(w).zip(across.chunks_exact_mut(w)) {
        for (p, v) in padded.iter_mut().enumerate() {
            *v = row[symmetric(p as isize - rx as isize, w)];
        }
        for (i, &k) in kx.iter().enumerate() {
            for (o, &s) in out.iter_mut().zip(&padded[i..]) {
                *o += k * s;
            }
        }
    }
    let mut out = vec![0f32; w * h];
    for (y, acc) in out.chunks_exact_mut(w).enumerate() {
        for (i, &k) in ky.iter().enumerate() {
            let sy = symmetric(y as isize + i as isize - ry as isize, h);
            for (a, &s) in acc.iter_mut().zip(&across[sy * w..(sy + 1) * w]) {
                *a += k * s;
            }
        }
    }
    out
}

/// Interpolation weights' fixed-point unit: 1/2048 pixel, far below what 8-bit output resolves.
const SHIFT: u32 = 11;
const ONE: u32 = 1 << SHIFT;

/// Pixel index `i` moved by `d` pixels, as its integer part (floor) and its fraction in units
/// of `ONE`. One float-to-integer conversion; `f32::floor` would be a libm call on baseline
/// x86-64. Displacements are truncated to 1/2048 pixel.
#[inline]
fn split(i: usize, d: f32) -> (isize, u32) {
    let p = ((i as i64) << SHIFT) + (d * ONE as f32) as i64;
    ((p >> SHIFT) as isize, (p & (ONE as i64 - 1)) as u32)
}

/// Bilinear sampling of every pixel at (x + dx, y + dy), reflecting beyond the edges (scipy's
/// `map_coordinates(order=1, mode='reflect')`).
fn remap(image: &RgbImage, field: &Field) -> RgbImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let Field { step, gw, gh, .. } = *field;
    let src = image.as_raw();
    let mut out = vec![0u8; w * h * 3];
    // Where each pixel falls between grid points, across and (per row) down.
    let grid_taps = |i: usize, n: usize| {
        let (g, t) = (i / step, (i % step) as f32 / step as f32);
        (g, (g + 1).min(n - 1), t)
    };
    let cols: Vec<(usize, usize, f32)> = (0..w).map(|x| grid_taps(x, gw)).collect();
    let (mut row_dx, mut row_dy) = (vec![0f32; gw], vec![0f32; gw]);
    for (y, out_row) in out.chunks_exact_mut(w * 3).enumerate() {
        let (g0, g1, t) = grid_taps(y, gh);
        for (row, grid) in [(&mut row_dx, &field.dx), (&mut row_dy, &field.dy)] {
            let (a, b) = (&grid[g0 * gw..][..gw], &grid[g1 * gw..][..gw]);
            for ((r, &a), &b) in row.iter_mut().zip(a).zip(b) {
                *r = a + t * (b - a);
            }
        }
        for (x, (px, &(i0, i1, t))) in out_row.chunks_exact_mut(3).zip(&cols).enumerate() {
            let dx = row_dx[i0] + t * (row_dx[i1] - row_dx[i0]);
            let dy = row_dy[i0] + t * (row_dy[i1] - row_dy[i0]);
            let ((x0, tx), (y0, ty)) = (split(x, dx), split(y, dy));
            // Fixed point: the four weights sum to ONE^2, and 255 * ONE^2 fits in 32 bits.
            let (wa, wb) = ((ONE - tx) * (ONE - ty), tx * (ONE - ty));
            let (wc, wd) = ((ONE - tx) * ty, tx * ty);
            let lerp = |a: u8, b: u8, c: u8, d: u8| {
                ((a as u32 * wa + b as u32 * wb + c as u32 * wc + d as u32 * wd + ONE * ONE / 2) >> (2 * SHIFT)) as u8
            };
            if x0 >= 0 && y0 >= 0 && x0 < w as isize - 1 && y0 < h as isize - 1 {
                // Inside, the four neighbours are two runs of two pixels.
                let a = (y0 as usize * w + x0 as usize) * 3;
                let (p, q) = (&src[a..a + 6], &src[a + w * 3..a + w * 3 + 6]);
                for ch in 0..3 {
                    px[ch] = lerp(p[ch], p[ch + 3], q[ch], q[ch + 3]);
                }
            } else {
                let (x0, x1) = (symmetric(x0, w), symmetric(x0 + 1, w));
                let (r0, r1) = (symmetric(y0, h) * w, symmetric(y0 + 1, h) * w);
                let (a, b, c, d) = ((r0 + x0) * 3, (r0 + x1) * 3, (r1 + x0) * 3, (r1 + x1) * 3);
                for ch in 0..3 {
                    px[ch] = lerp(src[a + ch], src[b + ch], src[c + ch], src[d + ch]);
                }
            }
        }
    }
    RgbImage::from_raw(w as u32, h as u32, out).expect("buffer sized from the image")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn kernel_matches_scipy() {
        // scipy.ndimage.gaussian_filter1d weights for sigma 0.64, truncate 3: radius 2.
        let k = kernel(0.64);
        assert_eq!(k.len(), 5);
        assert!((k[2] - 0.6230).abs() < 1e-4 && (k[1] - 0.1838).abs() < 1e-4 && (k[0] - 0.0047).abs() < 1e-4, "{k:?}");
        assert_eq!(kernel(0.0), [1.0]);
        // gaussian_filter1d([1, 0, 0, 0, 0], 0.64, mode='reflect', truncate=3).
        let out = smooth(&[1.0, 0.0, 0.0, 0.0, 0.0], 5, 1, &k, &[1.0]);
        let scipy = [0.80677, 0.18851, 0.00472, 0.0, 0.0];
        assert!(out.iter().zip(scipy).all(|(a, b)| (a - b).abs() < 1e-4), "{out:?}");
    }

    #[test]
    fn split_floors_and_keeps_the_fraction() {
        assert_eq!(split(2, 0.25), (2, ONE / 4));
        assert_eq!(split(0, -0.25), (-1, 3 * ONE / 4));
        assert_eq!(split(1, -4.0), (-3, 0));
        assert_eq!(split(5, -0.75), (4, ONE / 4));
        assert_eq!(split(0, 0.0), (0, 0));
    }

    #[test]
    fn reflect_repeats_the_edge_pixel() {
        let idx: Vec<usize> = (-3..7).map(|i| symmetric(i, 4)).collect();
        assert_eq!(idx, [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]);
        assert_eq!(symmetric(-5, 1), 0);
    }

    #[test]
    fn a_flat_image_stays_flat_and_no_field_changes_nothing() {
        let flat = RgbImage::from_pixel(40, 30, image::Rgb([90, 120, 30]));
        assert_eq!(build(4).apply(&flat, &mut case_rng(0, "", 0)), flat);
        let img = RgbImage::from_fn(40, 30, |x, y| image::Rgb([(x * 6) as u8, (y * 8) as u8, (x * y) as u8]));
        let still = ElasticTransform { alpha: 0.0, sigma: 0.01, amplitude: 0.005 };
        assert_eq!(still.apply(&img, &mut case_rng(0, "", 0)), img);
    }

    #[test]
    fn displacements_are_small_and_local() {
        // A horizontal ramp reads back where each pixel was sampled from. On a 200x200 image the
        // field before the gain has a standard deviation of (1 / sqrt(3)) * (1 / (2 sqrt(pi) * 2))
        // = 0.081 px, so severity 5 (gain 30) moves pixels by 2.4 px rms, and neighbours alike.
        let img = RgbImage::from_fn(200, 200, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let out = build(4).apply(&img, &mut case_rng(0, "", 0));
        let shift = |x: u32, y: u32| out.get_pixel(x, y)[0] as f32 - x as f32;
        let inner: Vec<f32> =
            (10..190).flat_map(|y| (10..190).map(move |x| (x, y))).map(|(x, y)| shift(x, y)).collect();
        let rms = (inner.iter().map(|s| s * s).sum::<f32>() / inner.len() as f32).sqrt();
        assert!((2.0..2.9).contains(&rms), "{rms}");
        assert!(inner.iter().all(|s| s.abs() <= 5.0 * rms));
        let step: f32 = (10..190).map(|x| (shift(x + 1, 100) - shift(x, 100)).abs()).sum::<f32>() / 180.0;
        assert!(step < 0.5 * rms, "neighbours move together: {step} vs {rms}");
    }

    #[test]
    fn a_coarse_grid_keeps_the_fields_spread() {
        // 600x400: sigma 6 and 4 px, drawn on a grid 2 px apart. The exact per-pixel field has
        // rms alpha * (max / sqrt(3)) * sqrt(sum kx^2 * sum ky^2).
        let op = ElasticTransform { alpha: 30.0, sigma: 0.01, amplitude: 0.005 };
        let sq = |k: Vec<f32>| k.iter().map(|v| v * v).sum::<f32>();
        let expected = 30.0 * (2.0 / 3f32.sqrt()) * (sq(kernel(6.0)) * sq(kernel(4.0))).sqrt();
        let (mut total, mut n) = (0.0, 0);
        for seed in 0..4 {
            let f = op.field(600, 400, &mut case_rng(seed, "", 0));
            assert_eq!((f.step, f.gw, f.gh), (2, 301, 201));
            total += f.dx.iter().chain(&f.dy).map(|v| v * v).sum::<f32>();
            n += f.dx.len() + f.dy.len();
        }
        let rms = (total / n as f32).sqrt();
        assert!((rms / expected - 1.0).abs() < 0.05, "{rms} vs {expected}");
    }

    fn build(severity: usize) -> Box<dyn Perturbation> {
        INFO.build(INFO.severities[severity])
    }
}
