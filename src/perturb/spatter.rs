//! Spatter: water drops or mud splashed on the lens, following imagecorruptions' pipeline.

use image::RgbImage;
use rand_distr::{Distribution, Normal};

use super::filters::{gaussian, round_u8, separable, Border};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "spatter",
    factor: RiskFactor::Weather,
    summary: "drops on the lens: blurred-noise blobs as pale water (mud = 0) or opaque mud (mud = 1)",
    params: &[
        ParamInfo {
            name: "mean",
            unit: "mean of the liquid noise field (0-1 scale)",
            min: -1.0,
            max: 2.0,
            default: 0.65,
            integer: false,
        },
        ParamInfo {
            name: "std",
            unit: "standard deviation of the liquid noise field (0-1 scale)",
            min: 0.0,
            max: 2.0,
            default: 0.3,
            integer: false,
        },
        ParamInfo {
            name: "blob_sigma",
            unit: "pixels (Gaussian blur of the field: drop size)",
            min: 0.0,
            max: 20.0,
            default: 2.0,
            integer: false,
        },
        ParamInfo {
            name: "threshold",
            unit: "blurred field level where liquid starts (0-1 scale)",
            min: 0.0,
            max: 1.0,
            default: 0.68,
            integer: false,
        },
        ParamInfo { name: "mud", unit: "0 = water, 1 = mud", min: 0.0, max: 1.0, default: 0.0, integer: false },
        ParamInfo {
            name: "water_gain",
            unit: "brightness of water drops (water only)",
            min: 0.0,
            max: 5.0,
            default: 0.5,
            integer: false,
        },
        ParamInfo {
            name: "mud_softness",
            unit: "pixels (Gaussian sigma of mud edges; mud only)",
            min: 0.0,
            max: 10.0,
            default: 1.5,
            integer: false,
        },
    ],
    // imagecorruptions' spatter severities: water for 1-3, mud for 4-5 (its fifth constant is
    // the water gain or the mud softness; the unused one is left at its default).
    severities: [
        &[0.65, 0.3, 4.0, 0.69, 0.0, 0.6, 1.5],
        &[0.65, 0.3, 3.0, 0.68, 0.0, 0.6, 1.5],
        &[0.65, 0.3, 2.0, 0.68, 0.0, 0.5, 1.5],
        &[0.65, 0.3, 1.0, 0.65, 1.0, 0.5, 1.5],
        &[0.67, 0.4, 1.0, 0.65, 1.0, 0.5, 1.5],
    ],
    make: |p| {
        Box::new(Spatter {
            mean: p.get("mean") as f32,
            std: p.get("std") as f32,
            blob_sigma: p.get("blob_sigma") as f32,
            threshold: p.get("threshold") as f32,
            mud: p.get("mud") >= 0.5,
            water_gain: p.get("water_gain") as f32,
            mud_softness: p.get("mud_softness") as f32,
        })
    },
};

pub struct Spatter {
    pub mean: f32,
    pub std: f32,
    pub blob_sigma: f32,
    pub threshold: f32,
    pub mud: bool,
    pub water_gain: f32,
    pub mud_softness: f32,
}

/// Pale turquoise (water) and brown (mud), 0-1 RGB.
const WATER: [f32; 3] = [175.0 / 255.0, 238.0 / 255.0, 238.0 / 255.0];
const MUD: [f32; 3] = [63.0 / 255.0, 42.0 / 255.0, 20.0 / 255.0];

impl Perturbation for Spatter {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        let normal = Normal::new(self.mean, self.std.max(0.0)).expect("finite, non-negative std");
        let field: Vec<f32> = (0..w * h).map(|_| normal.sample(rng)).collect();
        let mut liquid = gaussian(&field, w, h, 1, self.blob_sigma);
        liquid.iter_mut().for_each(|v| *v = if *v < self.threshold { 0.0 } else { *v });
        let mut out = image.clone();
        if self.mud {
            // Opaque mud with soft edges; thin rims (below 0.8 coverage) are dropped.
            let covered: Vec<f32> = liquid.iter().map(|&v| if v > self.threshold { 1.0 } else { 0.0 }).collect();
            let mut m = gaussian(&covered, w, h, 1, self.mud_softness);
            m.iter_mut().for_each(|v| *v = if *v < 0.8 { 0.0 } else { *v });
            for (px, &m) in out.pixels_mut().zip(&m) {
                for (v, mud) in px.0.iter_mut().zip(MUD) {
                    *v = round_u8(((*v as f32 / 255.0) * (1.0 - m) + mud * m) * 255.0);
                }
            }
        } else {
            let m = water_mask(&liquid, w, h);
            let peak = m.iter().copied().fold(0f32, f32::max);
            if peak <= 0.0 {
                return out;
            }
            let scale = self.water_gain / peak;
            for (px, &m) in out.pixels_mut().zip(&m) {
                for (v, water) in px.0.iter_mut().zip(WATER) {
                    *v = round_u8((*v as f32 / 255.0 + m * scale * water) * 255.0);
                }
            }
        }
        out
    }
}

/// imagecorruptions' water drops before normalisation: the liquid level (as bytes) times an
/// embossed, equalised distance-to-drop-edge map, all with OpenCV's semantics.
fn water_mask(liquid: &[f32], w: usize, h: usize) -> Vec<f32> {
    let level: Vec<u8> = liquid.iter().map(|&v| (v * 255.0).clamp(0.0, 255.0) as u8).collect();
    let edges = canny(&level, w, h, 50, 150);
    let dist = distance_to_edges(&edges, w, h);
    // threshold(TRUNC, 20), then a 3x3 box blur truncated to bytes (with a hair of tolerance for
    // float error, as OpenCV sums these in doubles).
    let dist: Vec<f32> = dist.iter().map(|&d| d.min(20.0)).collect();
    let third = [1.0 / 3.0; 3];
    let blurred = separable(&dist, w, h, 1, &third, &third, Border::Reflect101);
    let mut d: Vec<u8> = blurred.iter().map(|&v| (v + 1e-4).clamp(0.0, 255.0) as u8).collect();
    equalize_histogram(&mut d);
    let d = box3_u8(&emboss(&d, w, h), w, h);
    level.iter().zip(&d).map(|(&l, &d)| l as f32 * d as f32).collect()
}

/// `img` (`w` x `h`) with `pad` pixels of border on every side, read by `border`.
fn padded<T: Copy>(img: &[T], w: usize, h: usize, pad: usize, border: Border) -> Vec<T> {
    let cols: Vec<usize> = (0..w + 2 * pad).map(|x| border.index(x as isize - pad as isize, w)).collect();
    let mut out = Vec::with_capacity((w + 2 * pad) * (h + 2 * pad));
    for y in 0..h + 2 * pad {
        let row = &img[border.index(y as isize - pad as isize, h) * w..][..w];
        out.extend(cols.iter().map(|&x| row[x]));
    }
    out
}

/// OpenCV's `Canny(image, low, high)` (3x3 Sobel, L1 magnitude, replicated border): 255 on edges.
/// Works on a grid with one pixel of border, where magnitudes stay 0.
fn canny(img: &[u8], w: usize, h: usize, low: i32, high: i32) -> Vec<u8> {
    let pw = w + 2;
    let p: Vec<i32> = padded(img, w, h, 1, Border::Nearest).into_iter().map(i32::from).collect();
    let n = pw * (h + 2);
    let (mut dx, mut dy, mut mag) = (vec![0i32; n], vec![0i32; n], vec![0i32; n]);
    for y in 1..=h {
        // Rows above, at and below, each seen from one pixel left, at, and one pixel right.
        let row = |dy: usize, dx: usize| &p[(y + dy - 1) * pw + dx..][..w];
        let (ul, uc, ur) = (row(0, 0), row(0, 1), row(0, 2));
        let (ml, mr) = (row(1, 0), row(1, 2));
        let (dl, dc, dr) = (row(2, 0), row(2, 1), row(2, 2));
        let at = y * pw + 1..y * pw + 1 + w;
        let (dx, dy, mag) = (&mut dx[at.clone()], &mut dy[at.clone()], &mut mag[at]);
        for x in 0..w {
            let gx = ur[x] + 2 * mr[x] + dr[x] - ul[x] - 2 * ml[x] - dl[x];
            let gy = dl[x] + 2 * dc[x] + dr[x] - ul[x] - 2 * uc[x] - ur[x];
            (dx[x], dy[x], mag[x]) = (gx, gy, gx.abs() + gy.abs());
        }
    }
    // Non-maximum suppression along the gradient quantised to 0/45/90/135 degrees, in OpenCV's
    // fixed point (tan 22.5 degrees in 15 bits) and with its tie rules.
    const SHIFT: i64 = 15;
    const TG22: i64 = 13573;
    let mut state = vec![0u8; n]; // 0 none, 1 weak, 2 strong
    let mut stack = Vec::new();
    for y in 1..=h {
        for i in y * pw + 1..=y * pw + w {
            let v = mag[i];
            if v <= low {
                continue;
            }
            let (xs, ys) = (dx[i] as i64, dy[i] as i64);
            let (ax, ay) = (xs.abs(), ys.abs() << SHIFT);
            let tg22x = ax * TG22;
            let keep = if ay < tg22x {
                v > mag[i - 1] && v >= mag[i + 1]
            } else if ay > tg22x + (ax << (SHIFT + 1)) {
                v > mag[i - pw] && v >= mag[i + pw]
            } else if (xs ^ ys) < 0 {
                v > mag[i - pw + 1] && v > mag[i + pw - 1]
            } else {
                v > mag[i - pw - 1] && v > mag[i + pw + 1]
            };
            if keep {
                state[i] = if v > high { 2 } else { 1 };
                if v > high {
                    stack.push(i);
                }
            }
        }
    }
    // Hysteresis: weak pixels 8-connected to strong ones become edges (the border is never weak).
    while let Some(i) = stack.pop() {
        for j in [i - pw - 1, i - pw, i - pw + 1, i - 1, i + 1, i + pw - 1, i + pw, i + pw + 1] {
            if state[j] == 1 {
                state[j] = 2;
                stack.push(j);
            }
        }
    }
    (1..=h).flat_map(|y| state[y * pw + 1..=y * pw + w].iter().map(|&s| if s == 2 { 255 } else { 0 })).collect()
}

/// OpenCV's `distanceTransform(255 - edges, DIST_L2, 5)`: the 5x5 chamfer distance (steps 1,
/// 1.4 and 2.1969, in 16-bit fixed point) from each pixel to the nearest edge pixel.
fn distance_to_edges(edges: &[u8], w: usize, h: usize) -> Vec<f32> {
    const HV: u32 = 65536;
    const DIAG: u32 = 91750; // round(1.4 * 2^16)
    const LONG: u32 = 143976; // round(2.1969 * 2^16)
                              // Farther than any distance, and small enough to add steps to without overflow.
    const FAR: u32 = 1 << 30;
    const MAX: u32 = (i32::MAX >> 2) as u32; // OpenCV's DIST_MAX
                                             // Two pixels of border that never get closer.
    let pw = w + 4;
    let mut t = vec![FAR; pw * (h + 4)];
    let mut near = vec![0u32; w];
    // Each pass takes the neighbours of the two rows behind it in bulk, then the one neighbour
    // in its own row in order.
    for y in 0..h {
        let r = (y + 2) * pw + 2;
        let (far, close) = (&t[r - 2 * pw - 2..][..w + 4], &t[r - pw - 2..][..w + 4]);
        for (x, n) in near.iter_mut().enumerate() {
            let a = (far[x + 1] + LONG).min(far[x + 3] + LONG);
            let b = (close[x] + LONG).min(close[x + 4] + LONG);
            let c = (close[x + 1] + DIAG).min(close[x + 3] + DIAG).min(close[x + 2] + HV);
            *n = a.min(b).min(c);
        }
        let mut left = t[r - 1];
        for ((v, &n), &e) in t[r..r + w].iter_mut().zip(&near).zip(&edges[y * w..(y + 1) * w]) {
            *v = if e != 0 { 0 } else { n.min(left + HV) };
            left = *v;
        }
    }
    let mut out = vec![0f32; w * h];
    for y in (0..h).rev() {
        let r = (y + 2) * pw + 2;
        let (far, close) = (&t[r + 2 * pw - 2..][..w + 4], &t[r + pw - 2..][..w + 4]);
        for (x, n) in near.iter_mut().enumerate() {
            let a = (far[x + 1] + LONG).min(far[x + 3] + LONG);
            let b = (close[x] + LONG).min(close[x + 4] + LONG);
            let c = (close[x + 1] + DIAG).min(close[x + 3] + DIAG).min(close[x + 2] + HV);
            *n = a.min(b).min(c);
        }
        let mut right = t[r + w];
        for x in (0..w).rev() {
            let v = t[r + x].min(near[x]).min(right + HV);
            t[r + x] = v;
            right = v;
            out[y * w + x] = v.min(MAX) as f32 / 65536.0;
        }
    }
    out
}

/// OpenCV's `equalizeHist`.
fn equalize_histogram(values: &mut [u8]) {
    let mut hist = [0usize; 256];
    values.iter().for_each(|&v| hist[v as usize] += 1);
    let Some(first) = hist.iter().position(|&n| n > 0) else { return };
    if hist[first] == values.len() {
        return;
    }
    let scale = 255.0f32 / (values.len() - hist[first]) as f32;
    let mut lut = [first as u8; 256];
    let mut sum = 0;
    lut[first] = 0;
    for i in first + 1..256 {
        sum += hist[i];
        lut[i] = (sum as f32 * scale).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    values.iter_mut().for_each(|v| *v = lut[*v as usize]);
}

/// OpenCV's `filter2D` to bytes with imagecorruptions' emboss kernel [[-2,-1,0],[-1,1,1],[0,1,2]].
fn emboss(img: &[u8], w: usize, h: usize) -> Vec<u8> {
    let pw = w + 2;
    let p: Vec<i32> = padded(img, w, h, 1, Border::Reflect101).into_iter().map(i32::from).collect();
    let mut out = Vec::with_capacity(w * h);
    for y in 1..=h {
        out.extend((y * pw + 1..=y * pw + w).map(|i| {
            let v = -2 * p[i - pw - 1] - p[i - pw] - p[i - 1] + p[i] + p[i + 1] + p[i + pw] + 2 * p[i + pw + 1];
            v.clamp(0, 255) as u8
        }));
    }
    out
}

/// OpenCV's `blur(img, (3, 3))` on bytes: the rounded 3x3 mean, edges mirrored.
fn box3_u8(img: &[u8], w: usize, h: usize) -> Vec<u8> {
    let pw = w + 2;
    let p: Vec<u32> = padded(img, w, h, 1, Border::Reflect101).into_iter().map(u32::from).collect();
    let mut out = Vec::with_capacity(w * h);
    for y in 1..=h {
        out.extend((y * pw + 1..=y * pw + w).map(|i| {
            let sum = p[i - pw - 1]
                + p[i - pw]
                + p[i - pw + 1]
                + p[i - 1]
                + p[i]
                + p[i + 1]
                + p[i + pw - 1]
                + p[i + pw]
                + p[i + pw + 1];
            // A ninth of an integer never ends in exactly .5, so this is round-to-nearest.
            ((sum + 4) / 9) as u8
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    #[test]
    fn canny_finds_the_outline_of_a_square() {
        let (w, h) = (12, 12);
        let img: Vec<u8> =
            (0..w * h).map(|i| if (3..9).contains(&(i % w)) && (3..9).contains(&(i / w)) { 200 } else { 0 }).collect();
        let edges = canny(&img, w, h, 50, 150);
        assert!(edges.contains(&255));
        // Edges hug the square's border; the middle and the far corners stay clear.
        assert_eq!(edges[6 * w + 6], 0);
        assert_eq!(edges[0], 0);
        assert!(edges.iter().enumerate().filter(|(_, &e)| e == 255).all(|(i, _)| {
            let (x, y) = (i % w, i / w);
            (2..=9).contains(&x) && (2..=9).contains(&y)
        }));
    }

    #[test]
    fn chamfer_distances() {
        let (w, h) = (7, 7);
        let mut edges = vec![0u8; w * h];
        edges[3 * w + 3] = 255;
        let d = distance_to_edges(&edges, w, h);
        assert_eq!(d[3 * w + 3], 0.0);
        assert_eq!(d[3 * w + 4], 1.0);
        assert!((d[4 * w + 4] - 1.4).abs() < 1e-4);
        assert!((d[4 * w + 5] - 2.1969).abs() < 1e-4);
        assert!((d[3 * w + 6] - 3.0).abs() < 1e-4);
    }

    #[test]
    fn equalize_spreads_levels() {
        let mut v = vec![10u8, 10, 20, 30];
        equalize_histogram(&mut v);
        assert_eq!(v, [0, 0, 128, 255]);
    }

    #[test]
    fn water_brightens_and_mud_darkens() {
        let img = RgbImage::from_pixel(64, 48, image::Rgb([100, 100, 100]));
        let sum = |i: &RgbImage| i.iter().map(|&v| v as i64).sum::<i64>();
        let water = build(1).apply(&img, &mut case_rng(0, "", 0));
        let mud = build(4).apply(&img, &mut case_rng(0, "", 0));
        assert!(sum(&water) > sum(&img), "water");
        assert!(sum(&mud) < sum(&img), "mud");
    }

    fn build(severity: usize) -> Box<dyn Perturbation> {
        INFO.build(INFO.severities[severity])
    }
}
