//! Pre-processing (resize, scale, normalise, channel order, layout) with per-family defaults
//! and suite overrides, and the geometry that maps boxes back to original image pixels.
//!
//! Letterbox geometry follows the reference code exactly, because a half-pixel slip moves every
//! box: the scale is `r = min(H / h0, W / w0)`, each resized side is `round(side · r)` with
//! Python's round-half-to-even (at least 1 px), and the image is pasted at
//! `round((W - new_w) / 2 - 0.1)` from the left (same for the top). Boxes map back as
//! `(x - pad) / gain`, then are clipped to the image:
//! - ultralytics (`scale_boxes` without `ratio_pad`): `gain = new_w / w0` per axis and `pad` the
//!   paste offset, the exact inverse of the letterbox;
//! - yolov5 (`scale_boxes` without `ratio_pad`): one `gain = r` and the unrounded
//!   `pad = (W - w0 · r) / 2`, up to half an input pixel off the paste offset; kept for parity.
//!
//! YOLOX letterboxes its own way (`yolox.data.data_augment.preproc`): each side is truncated,
//! `int(side · r)`, the image is pasted at the top-left corner, and boxes map back as `x / r`.

use image::{imageops, Rgb, RgbImage};

use super::Tensor;
use crate::suite::PreprocessSpec;
use crate::vocab::{Channels, Family, Layout, Resize};

/// ImageNet statistics, the torchvision / transformers default for DETR and classifiers.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Letterbox padding grey, as ultralytics and yolov5.
pub const PAD_VALUE: u8 = 114;

/// How the reference letterboxes and maps boxes back, after the reference whose outputs we
/// match (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapBack {
    Ultralytics,
    Yolov5,
    /// Sides truncated, pasted top-left, `x / r`.
    Yolox,
}

/// Fully resolved pre-processing of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    pub resize: Resize,
    /// Per input channel, in the order the network reads them (after `channels`).
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub channels: Channels,
    pub layout: Layout,
    pub scale: f32,
    pub map_back: MapBack,
}

impl Preprocess {
    /// The family's defaults with the suite's overrides; `layout` is the one the model declares
    /// unless the suite sets it.
    pub fn resolve(family: Family, spec: &PreprocessSpec, layout: Layout) -> Self {
        let (resize, mean, std) = match family {
            // yolo heads and NMS-included exports see a letterboxed 0-1 image, normalised inside
            // the graph if at all (torchvision detectors normalise in their own transform).
            Family::Yolov8 | Family::Yolov5 | Family::Yolox | Family::BoxesScoresLabels => {
                (Resize::Letterbox, [0.0; 3], [1.0; 3])
            }
            // ultralytics' RT-DETR predictor stretches (`scale_fill`) and only divides by 255.
            Family::Rtdetr => (Resize::Stretch, [0.0; 3], [1.0; 3]),
            Family::Detr | Family::Classifier => (Resize::Stretch, IMAGENET_MEAN, IMAGENET_STD),
        };
        // YOLOX (since 0.2.0, without `legacy`) reads OpenCV's BGR bytes as they are, 0-255.
        let (channels, scale) = if family == Family::Yolox { (Channels::Bgr, 1.0) } else { (Channels::Rgb, 255.0) };
        Self {
            resize: spec.resize.unwrap_or(resize),
            mean: spec.mean.unwrap_or(mean),
            std: spec.std.unwrap_or(std),
            channels: spec.channels.unwrap_or(channels),
            layout: spec.layout.unwrap_or(layout),
            scale: spec.scale.unwrap_or(scale),
            map_back: match family {
                Family::Yolov5 => MapBack::Yolov5,
                Family::Yolox => MapBack::Yolox,
                _ => MapBack::Ultralytics,
            },
        }
    }

    /// The input tensor for a `[height, width]` network input, and how its boxes map back.
    pub fn apply(&self, image: &RgbImage, input_hw: [u32; 2]) -> (Tensor, Geometry) {
        let (w0, h0) = image.dimensions();
        let [h, w] = input_hw;
        let (geometry, paste) = match self.resize {
            Resize::Letterbox => Geometry::letterbox([w0, h0], input_hw, self.map_back),
            Resize::Stretch => (Geometry::stretch([w0, h0], input_hw), Paste { left: 0, top: 0, width: w, height: h }),
        };
        let resized;
        let src = if (paste.width, paste.height) == (w0, h0) {
            image
        } else {
            resized = imageops::resize(image, paste.width, paste.height, imageops::FilterType::Triangle);
            &resized
        };
        // One lookup per channel and byte value: the same arithmetic for every pixel, fast.
        let lut: Vec<[f32; 256]> =
            (0..3).map(|k| std::array::from_fn(|v| (v as f32 / self.scale - self.mean[k]) / self.std[k])).collect();
        let source_channel = |k: usize| match self.channels {
            Channels::Rgb => k,
            Channels::Bgr => 2 - k,
        };
        let (h_us, w_us) = (h as usize, w as usize);
        let plane = h_us * w_us;
        let mut data = vec![0.0; 3 * plane];
        let pad = Rgb([PAD_VALUE; 3]);
        for y in 0..h {
            for x in 0..w {
                let inside =
                    x >= paste.left && y >= paste.top && x - paste.left < paste.width && y - paste.top < paste.height;
                let px = if inside { src.get_pixel(x - paste.left, y - paste.top) } else { &pad };
                let i = y as usize * w_us + x as usize;
                for (k, table) in lut.iter().enumerate() {
                    let value = table[px[source_channel(k)] as usize];
                    match self.layout {
                        Layout::Nchw => data[k * plane + i] = value,
                        Layout::Nhwc => data[i * 3 + k] = value,
                    }
                }
            }
        }
        let shape = match self.layout {
            Layout::Nchw => vec![1, 3, h_us, w_us],
            Layout::Nhwc => vec![1, h_us, w_us, 3],
        };
        (Tensor { name: String::new(), shape, data }, geometry)
    }
}

/// Where the resized image sits in the network input, in input pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paste {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// The map from network input pixels back to original image pixels: `(x - pad) / gain`, per
/// axis, clipped to the image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub gain: [f32; 2],
    pub pad: [f32; 2],
    pub image_wh: [f32; 2],
}

impl Geometry {
    /// Letterbox an image of `image_wh` into `input_hw` (see the module docs for the rounding).
    pub fn letterbox(image_wh: [u32; 2], input_hw: [u32; 2], map_back: MapBack) -> (Self, Paste) {
        let [w0, h0] = image_wh.map(|v| v.max(1) as f64);
        let [h, w] = input_hw;
        let r = (h as f64 / h0).min(w as f64 / w0);
        if map_back == MapBack::Yolox {
            // `int(side * r)` truncates; the image sits at the top-left corner.
            let width = ((w0 * r) as u32).clamp(1, w.max(1));
            let height = ((h0 * r) as u32).clamp(1, h.max(1));
            let geometry = Self { gain: [r as f32; 2], pad: [0.0; 2], image_wh: [w0 as f32, h0 as f32] };
            return (geometry, Paste { left: 0, top: 0, width, height });
        }
        let width = ((w0 * r).round_ties_even() as u32).clamp(1, w.max(1));
        let height = ((h0 * r).round_ties_even() as u32).clamp(1, h.max(1));
        // The reference splits odd padding with round(d / 2 - 0.1): the extra pixel goes right/bottom.
        let left = (w.saturating_sub(width) as f64 / 2.0 - 0.1).round_ties_even() as u32;
        let top = (h.saturating_sub(height) as f64 / 2.0 - 0.1).round_ties_even() as u32;
        let (gain, pad) = match map_back {
            MapBack::Ultralytics => {
                ([(width as f64 / w0) as f32, (height as f64 / h0) as f32], [left as f32, top as f32])
            }
            MapBack::Yolov5 => {
                ([r as f32; 2], [((w as f64 - w0 * r) / 2.0) as f32, ((h as f64 - h0 * r) / 2.0) as f32])
            }
            MapBack::Yolox => unreachable!("returned above"),
        };
        (Self { gain, pad, image_wh: [w0 as f32, h0 as f32] }, Paste { left, top, width, height })
    }

    /// Stretch an image of `image_wh` to `input_hw`.
    pub fn stretch(image_wh: [u32; 2], input_hw: [u32; 2]) -> Self {
        let [w0, h0] = image_wh.map(|v| v.max(1) as f64);
        let [h, w] = input_hw;
        Self { gain: [(w as f64 / w0) as f32, (h as f64 / h0) as f32], pad: [0.0; 2], image_wh: [w0 as f32, h0 as f32] }
    }

    /// Map an `[x1, y1, x2, y2]` box from input pixels to image pixels, clipped to the image.
    pub fn to_image(self, b: [f32; 4]) -> [f32; 4] {
        let [x1, y1, x2, y2] = self.to_image_unclipped(b);
        let [w, h] = self.image_wh;
        [x1.clamp(0.0, w), y1.clamp(0.0, h), x2.clamp(0.0, w), y2.clamp(0.0, h)]
    }

    /// The same map without clipping.
    pub fn to_image_unclipped(self, b: [f32; 4]) -> [f32; 4] {
        let ([gx, gy], [px, py]) = (self.gain, self.pad);
        [(b[0] - px) / gx, (b[1] - py) / gy, (b[2] - px) / gx, (b[3] - py) / gy]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yolo() -> Preprocess {
        Preprocess::resolve(Family::Yolov8, &PreprocessSpec::default(), Layout::Nchw)
    }

    #[test]
    fn same_size_is_identity() {
        let img = RgbImage::from_pixel(4, 4, Rgb([255, 0, 0]));
        let (t, g) = yolo().apply(&img, [4, 4]);
        assert_eq!(t.shape, vec![1, 3, 4, 4]);
        assert_eq!(t.data[0], 1.0);
        assert_eq!(t.data[16], 0.0);
        assert_eq!(g.to_image([1.0, 2.0, 3.0, 4.0]), [1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn wide_image_is_padded_top_and_bottom() {
        let img = RgbImage::from_pixel(8, 4, Rgb([0, 0, 0]));
        let (t, g) = yolo().apply(&img, [8, 8]);
        assert_eq!((g.gain, g.pad), ([1.0, 1.0], [0.0, 2.0]));
        assert_eq!(t.data[0], 114.0 / 255.0); // top padding row
        assert_eq!(t.data[2 * 8], 0.0); // first image row
        assert_eq!(g.to_image([0.0, 2.0, 8.0, 6.0]), [0.0, 0.0, 8.0, 4.0]);
    }

    #[test]
    fn boxes_are_clipped_to_the_image() {
        let (g, _) = Geometry::letterbox([10, 10], [20, 20], MapBack::Ultralytics);
        assert_eq!(g.to_image([-4.0, -4.0, 40.0, 40.0]), [0.0, 0.0, 10.0, 10.0]);
    }

    #[test]
    fn sides_round_half_to_even_as_python() {
        // 101 · 0.5 = 50.5 → 50 (Python's round), not 51; padding 206 / 2 = 103 each side.
        let (g, p) = Geometry::letterbox([640, 101], [256, 320], MapBack::Ultralytics);
        assert_eq!(p, Paste { left: 0, top: 103, width: 320, height: 50 });
        assert_eq!(g.gain, [0.5, (50.0f64 / 101.0) as f32]);
        let (g, _) = Geometry::letterbox([640, 101], [256, 320], MapBack::Yolov5);
        assert_eq!((g.gain, g.pad), ([0.5, 0.5], [0.0, 102.75]));
    }

    #[test]
    fn odd_padding_puts_the_extra_pixel_right() {
        // 333 · 0.64 = 213.12 → 213; 107 px of padding: 53 left, 54 right.
        let (_, p) = Geometry::letterbox([333, 500], [320, 320], MapBack::Ultralytics);
        assert_eq!(p, Paste { left: 53, top: 0, width: 213, height: 320 });
    }

    #[test]
    fn normalisation_channel_order_and_layout() {
        let img = RgbImage::from_pixel(2, 2, Rgb([255, 0, 51]));
        let spec = PreprocessSpec {
            channels: Some(Channels::Bgr),
            layout: Some(Layout::Nhwc),
            mean: Some([0.5, 0.0, 0.0]),
            std: Some([0.5, 1.0, 2.0]),
            ..Default::default()
        };
        let p = Preprocess::resolve(Family::Classifier, &spec, Layout::Nchw);
        assert_eq!(p.resize, Resize::Stretch);
        let (t, g) = p.apply(&img, [2, 2]);
        assert_eq!(t.shape, vec![1, 2, 2, 3]);
        // BGR: first channel is blue (51 / 255 = 0.2), normalised (0.2 - 0.5) / 0.5.
        assert!((t.data[0] - (-0.6)).abs() < 1e-6, "{}", t.data[0]);
        assert_eq!(t.data[1], 0.0);
        assert_eq!(t.data[2], 0.5);
        assert_eq!(g, Geometry { gain: [1.0, 1.0], pad: [0.0, 0.0], image_wh: [2.0, 2.0] });
    }

    #[test]
    fn yolox_pastes_truncated_sides_top_left_in_bgr_0_to_255() {
        let p = Preprocess::resolve(Family::Yolox, &PreprocessSpec::default(), Layout::Nchw);
        assert_eq!(
            (p.resize, p.channels, p.scale, p.map_back),
            (Resize::Letterbox, Channels::Bgr, 1.0, MapBack::Yolox)
        );
        // 333 · 0.64 = 213.12 → 213, at the left edge.
        let (g, paste) = Geometry::letterbox([333, 500], [320, 320], MapBack::Yolox);
        assert_eq!(paste, Paste { left: 0, top: 0, width: 213, height: 320 });
        assert_eq!((g.gain, g.pad), ([0.64, 0.64], [0.0, 0.0]));
        // 17 · 320 / 33 = 164.85 → 164, where the ultralytics letterbox rounds to 165.
        let (_, paste) = Geometry::letterbox([33, 17], [320, 320], MapBack::Yolox);
        assert_eq!((paste.width, paste.height), (320, 164));
        // 49 · (128 / 49) is 127.99999999999999 in float64: YOLOX leaves a row of padding.
        let (_, paste) = Geometry::letterbox([49, 49], [128, 128], MapBack::Yolox);
        assert_eq!((paste.width, paste.height), (127, 127));
        let img = RgbImage::from_pixel(8, 4, Rgb([10, 20, 30]));
        let (t, _) = p.apply(&img, [8, 8]);
        // Blue first, unscaled; padding below the image only.
        assert_eq!((t.data[0], t.data[64], t.data[4 * 8]), (30.0, 20.0, 114.0));
    }

    #[test]
    fn rtdetr_stretches_without_normalising() {
        let p = Preprocess::resolve(Family::Rtdetr, &PreprocessSpec::default(), Layout::Nchw);
        assert_eq!((p.resize, p.mean, p.std, p.scale), (Resize::Stretch, [0.0; 3], [1.0; 3], 255.0));
    }

    #[test]
    fn detr_defaults_stretch_with_imagenet_statistics() {
        let p = Preprocess::resolve(Family::Detr, &PreprocessSpec::default(), Layout::Nchw);
        assert_eq!((p.resize, p.mean, p.std, p.scale), (Resize::Stretch, IMAGENET_MEAN, IMAGENET_STD, 255.0));
        let g = Geometry::stretch([640, 480], [320, 320]);
        assert_eq!(g.to_image([160.0, 160.0, 320.0, 320.0]), [320.0, 240.0, 640.0, 480.0]);
    }
}
