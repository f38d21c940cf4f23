//! Frost: procedural ice crystals on the lens or window, blended over a dimmed scene as ImageNet-C.

use image::RgbImage;
use rand::Rng;

use super::filters::{gaussian, round_u8};
use super::{ParamInfo, Perturbation, PerturbationInfo, RiskFactor};
use crate::perturb::CaseRng;

pub const INFO: PerturbationInfo = PerturbationInfo {
    name: "frost",
    factor: RiskFactor::Weather,
    summary: "frost on the lens: procedural ice crystals blended over a dimmed scene",
    params: &[
        ParamInfo {
            name: "clarity",
            unit: "weight of the scene (1 = not dimmed)",
            min: 0.0,
            max: 1.0,
            default: 0.7,
            integer: false,
        },
        ParamInfo {
            name: "frost",
            unit: "weight of the frost layer (0 = none)",
            min: 0.0,
            max: 1.0,
            default: 0.7,
            integer: false,
        },
    ],
    // imagecorruptions' frost severities.
    severities: [&[1.0, 0.4], &[0.8, 0.6], &[0.7, 0.7], &[0.65, 0.7], &[0.6, 0.75]],
    make: |p| Box::new(Frost { clarity: p.get("clarity") as f32, frost: p.get("frost") as f32 }),
};

/// imagecorruptions blends `clarity * image + frost * photo` with a crop of one of five frost
/// photos. We cannot ship those photos, so the ice is drawn for each image from its generator:
/// fern-like dendrites (a stem with side branches at about 60 degrees, as hexagonal ice grows)
/// over a smooth haze, coloured like one of the photos. Their mean colours, contrasts and
/// densities were measured from the photos, so the size of the change matches the reference's
/// (checked in `parity.rs`).
pub struct Frost {
    pub clarity: f32,
    pub frost: f32,
}

/// How one of imagecorruptions' frost photos looks, measured on the photo: mean RGB, each
/// channel's slope against the grey level, the grey standard deviation, and how densely the
/// crystals grow (relative; set so that the grey histograms' skew and spread come out alike).
struct Look {
    mean: [f32; 3],
    gain: [f32; 3],
    std: f32,
    density: f32,
}

/// imagecorruptions draws one of its first five photos uniformly; frost2 and frost3 are the same
/// picture, so its look comes twice.
const LOOKS: [Look; 5] = [
    // frost1: blue-green glassy ice, whiter where it catches the light.
    Look { mean: [77.7, 149.1, 165.7], gain: [1.37, 0.9, 0.73], std: 18.0, density: 0.7 },
    // frost2 = frost3: dense white needles with darker gaps.
    Look { mean: [200.8, 205.4, 214.5], gain: [0.97, 1.0, 1.03], std: 22.0, density: 2.5 },
    Look { mean: [200.8, 205.4, 214.5], gain: [0.97, 1.0, 1.03], std: 22.0, density: 2.5 },
    // frost4: grey crystal rosettes.
    Look { mean: [137.6, 152.8, 165.2], gain: [0.98, 0.99, 1.03], std: 28.9, density: 1.2 },
    // frost5: white ferns on dark blue-grey glass.
    Look { mean: [112.4, 123.4, 134.8], gain: [1.03, 1.0, 0.97], std: 43.1, density: 1.0 },
];

/// Size of the virtual frost photo, in its own pixels; like imagecorruptions we enlarge it by 10 %
/// (more for images bigger than it) and crop the image's size at a random offset.
const PHOTO: (f32, f32) = (600.0, 400.0);
/// Weights of the normalised crystal layer and of the haze in the grey texture: crystals give the
/// fine structure every crop has; the haze is broad, so small crops see little of it (as a small
/// crop of a photo sees little of its large-scale shading).
const CRYSTAL_WEIGHT: f32 = 0.65;
const HAZE_WEIGHT: f32 = 0.9;
/// Haze lattice spacing, in photo pixels.
const HAZE_CELL: f32 = 150.0;

impl Perturbation for Frost {
    fn apply(&self, image: &RgbImage, rng: &mut CaseRng) -> RgbImage {
        let (w, h) = (image.width() as usize, image.height() as usize);
        if w == 0 || h == 0 {
            return image.clone();
        }
        let look = &LOOKS[rng.random_range(0..LOOKS.len())];
        // Photo pixels per image pixel: the crop is the image's size divided by this.
        let zoom = 1.1 * (w as f32 / PHOTO.0).max(h as f32 / PHOTO.1).max(1.0);
        let (tw, th) = (((w - 1) as f32 / zoom) as usize + 2, ((h - 1) as f32 / zoom) as usize + 2);
        let texture = grey_texture(tw, th, look.density, rng);
        // The crop's sub-pixel offset; the rest of the offset is in where the crystals fell.
        let (ox, oy) = (rng.random::<f32>(), rng.random::<f32>());
        let taps = |n: usize, offset: f32, len: usize| -> Vec<(usize, f32)> {
            (0..n)
                .map(|i| {
                    let p = i as f32 / zoom + offset;
                    let i0 = (p as usize).min(len - 2);
                    (i0, p - i0 as f32)
                })
                .collect()
        };
        let (cols, rows) = (taps(w, ox, tw), taps(h, oy, th));
        let base = look.mean.map(|m| self.frost * m);
        let slope = look.gain.map(|g| self.frost * g * look.std);
        let top = self.frost * 255.0;
        let (mut grey, mut layer) = (vec![0f32; tw], vec![0f32; w * 3]);
        let mut out = vec![0u8; w * h * 3];
        for ((row, src), &(y0, ty)) in out.chunks_exact_mut(w * 3).zip(image.as_raw().chunks_exact(w * 3)).zip(&rows) {
            let (a, b) = (&texture[y0 * tw..][..tw], &texture[(y0 + 1) * tw..][..tw]);
            for ((g, &a), &b) in grey.iter_mut().zip(a).zip(b) {
                *g = a + ty * (b - a);
            }
            // The frost layer of this row, kept within what a photo can hold...
            for (f, &(x0, tx)) in layer.chunks_exact_mut(3).zip(&cols) {
                let g = grey[x0] + tx * (grey[x0 + 1] - grey[x0]);
                for c in 0..3 {
                    f[c] = (base[c] + slope[c] * g).clamp(0.0, top);
                }
            }
            // ...then the blend, one straight pass over the row's bytes.
            for ((o, &s), &f) in row.iter_mut().zip(src).zip(&layer) {
                *o = round_u8(self.clarity * s as f32 + f);
            }
        }
        RgbImage::from_raw(w as u32, h as u32, out).expect("buffer sized from the image")
    }
}

/// The frost's grey level about its mean, in units of the photo's standard deviation: crystals
/// (normalised over the crop) plus a smooth haze.
fn grey_texture(w: usize, h: usize, density: f32, rng: &mut CaseRng) -> Vec<f32> {
    let mut ice = vec![0f32; w * h];
    // Crystals start anywhere up to a stem's length outside the crop, so some reach in from
    // beyond its edges as they would on a larger pane.
    let margin = MAX_STEM;
    let (ew, eh) = (w as f32 + 2.0 * margin, h as f32 + 2.0 * margin);
    let count = (density * ew * eh / 900.0).round() as usize;
    for _ in 0..count {
        let (x, y) = (rng.random::<f32>() * ew - margin, rng.random::<f32>() * eh - margin);
        let angle = rng.random::<f32>() * std::f32::consts::TAU;
        let len = rng.random_range(MAX_STEM / 3.0..MAX_STEM);
        let bright = rng.random_range(0.5..1.0);
        dendrite(&mut ice, w, h, (x, y), angle, len, bright, rng);
    }
    // Soften the one-pixel strokes into ice needles.
    let mut ice = gaussian(&ice, w, h, 1, 0.7);
    let n = ice.len() as f32;
    let mean = ice.iter().sum::<f32>() / n;
    let std = (ice.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n).sqrt();
    let gain = if std > 1e-6 { CRYSTAL_WEIGHT / std } else { 0.0 };
    ice.iter_mut().for_each(|v| *v = (*v - mean) * gain);
    add_haze(&mut ice, w, h, rng);
    ice
}

/// Longest crystal stem, in photo pixels.
const MAX_STEM: f32 = 45.0;
/// Drawing step along a stroke, in photo pixels.
const STEP: f32 = 0.75;

/// One fern-like crystal: a slightly wandering stem with pairs of side branches at 50-70
/// degrees, longest near the root, all fading towards their tips. Strokes keep the brightest
/// value where they cross (ice does not add up like light).
#[allow(clippy::too_many_arguments)]
fn dendrite(ice: &mut [f32], w: usize, h: usize, at: (f32, f32), angle: f32, len: f32, bright: f32, rng: &mut CaseRng) {
    let ((mut x, mut y), mut t) = (at, 0.0);
    let (mut sin, mut cos) = angle.sin_cos();
    let mut next_branch = rng.random_range(2.0..5.0);
    while t < len {
        let level = bright * (1.0 - 0.6 * t / len);
        plot(ice, w, h, x, y, level);
        if t >= next_branch {
            let angle = sin.atan2(cos);
            for side in [-1.0, 1.0] {
                let turn = side * rng.random_range(0.87..1.22);
                let branch = (len - t) * rng.random_range(0.2..0.6);
                line(ice, w, h, (x, y), angle + turn, branch, 0.8 * level);
            }
            next_branch = t + rng.random_range(2.5..5.0);
        }
        x += cos * STEP;
        y += sin * STEP;
        // Wander by a small turn: rotate the direction by d (sin d ~ d, cos d ~ 1 - d^2 / 2 to
        // 1e-6 at these angles) and renormalise, rather than a sine and cosine per step.
        let d: f32 = rng.random_range(-0.06..0.06);
        let (c, s) = (1.0 - 0.5 * d * d, d);
        (cos, sin) = (cos * c - sin * s, sin * c + cos * s);
        let norm = (cos * cos + sin * sin).sqrt();
        (cos, sin) = (cos / norm, sin / norm);
        t += STEP;
    }
}

/// A straight stroke fading to a third of its level at the tip.
fn line(ice: &mut [f32], w: usize, h: usize, (x, y): (f32, f32), angle: f32, len: f32, level: f32) {
    let (dx, dy) = (angle.cos() * STEP, angle.sin() * STEP);
    let steps = (len / STEP) as usize;
    for i in 0..steps {
        let fade = 1.0 - 0.67 * i as f32 / steps as f32;
        plot(ice, w, h, x + dx * i as f32, y + dy * i as f32, level * fade);
    }
}

#[inline]
fn plot(ice: &mut [f32], w: usize, h: usize, x: f32, y: f32, level: f32) {
    if x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h {
        let v = &mut ice[y as usize * w + x as usize];
        *v = v.max(level);
    }
}

/// Add a smooth haze: value noise of unit-variance lattice values `HAZE_CELL` apart, smoothstep
/// interpolated, its lattice at a random offset.
fn add_haze(grey: &mut [f32], w: usize, h: usize, rng: &mut CaseRng) {
    let (ox, oy) = (rng.random::<f32>() * HAZE_CELL, rng.random::<f32>() * HAZE_CELL);
    let (lw, lh) = (((w as f32 + ox) / HAZE_CELL) as usize + 2, ((h as f32 + oy) / HAZE_CELL) as usize + 2);
    let amp = HAZE_WEIGHT * 3f32.sqrt();
    let lattice: Vec<f32> = (0..lw * lh).map(|_| (2.0 * rng.random::<f32>() - 1.0) * amp).collect();
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    let cols: Vec<(usize, f32)> = (0..w)
        .map(|x| {
            let p = (x as f32 + ox) / HAZE_CELL;
            (p as usize, smooth(p.fract()))
        })
        .collect();
    let mut blended = vec![0f32; lw];
    for (y, row) in grey.chunks_exact_mut(w).enumerate() {
        let p = (y as f32 + oy) / HAZE_CELL;
        let (i, t) = (p as usize, smooth(p.fract()));
        for ((b, &a), &c) in blended.iter_mut().zip(&lattice[i * lw..][..lw]).zip(&lattice[(i + 1) * lw..][..lw]) {
            *b = a + t * (c - a);
        }
        for (v, &(j, t)) in row.iter_mut().zip(&cols) {
            *v += blended[j] + t * (blended[j + 1] - blended[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::case_rng;

    fn grey_stats(img: &RgbImage) -> (f32, f32) {
        let g: Vec<f32> = img.pixels().map(|p| p.0.iter().map(|&v| v as f32).sum::<f32>() / 3.0).collect();
        let mean = g.iter().sum::<f32>() / g.len() as f32;
        (mean, (g.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / g.len() as f32).sqrt())
    }

    #[test]
    fn black_shows_the_frost_layer_alone() {
        // On black, the output is `frost` times the frost layer: over many draws its mean and
        // spread come out as the photos' (grey means 131-207, standard deviations 18-43).
        let black = RgbImage::new(160, 120);
        let op = Frost { clarity: 1.0, frost: 1.0 };
        let (mut means, mut stds) = (Vec::new(), Vec::new());
        for i in 0..40 {
            let (m, s) = grey_stats(&op.apply(&black, &mut case_rng(0, "", i)));
            means.push(m);
            stds.push(s);
        }
        let avg = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
        assert!((140.0..190.0).contains(&avg(&means)), "{means:?}");
        assert!(means.iter().all(|m| (60.0..240.0).contains(m)), "{means:?}");
        assert!((14.0..40.0).contains(&avg(&stds)), "{stds:?}");
    }

    #[test]
    fn frost_is_bluish_and_dims_the_scene() {
        let img = RgbImage::from_pixel(64, 48, image::Rgb([200, 200, 200]));
        let mut blue_over_red = 0;
        for i in 0..20 {
            let out = Frost { clarity: 0.5, frost: 0.2 }.apply(&img, &mut case_rng(1, "", i));
            let sum = |c: usize| out.pixels().map(|p| p[c] as u32).sum::<u32>();
            blue_over_red += (sum(2) > sum(0)) as u32;
            // 0.5 * 200 + 0.2 * (a frost level of at most 255): darker than before.
            assert!(out.pixels().all(|p| p[1] <= 151), "draw {i}");
        }
        assert_eq!(blue_over_red, 20);
    }

    #[test]
    fn crystals_have_fine_structure() {
        // Neighbouring pixels of the texture differ much more than the smooth haze alone would.
        let mut rng = case_rng(2, "", 0);
        let t = grey_texture(200, 150, 1.0, &mut rng);
        let step: f32 = t.windows(2).map(|p| (p[0] - p[1]).abs()).sum::<f32>() / t.len() as f32;
        assert!(step > 0.05, "{step}");
        let mut haze = vec![0f32; 200 * 150];
        add_haze(&mut haze, 200, 150, &mut rng);
        let haze_step: f32 = haze.windows(2).map(|p| (p[0] - p[1]).abs()).sum::<f32>() / haze.len() as f32;
        assert!(haze_step < step / 4.0, "{haze_step} vs {step}");
    }
}
