//! COCO box evaluation, identical to pycocotools' COCOeval (bbox): 12 stats and per-category AP.
//!
//! The algorithm follows pycocotools 2.0.11 (`COCOeval.evaluate`, `accumulate`, `summarize`)
//! step by step, including its floating-point expressions, tie-breaking and quirks, so the
//! numbers match it to the last bit on the parity fixtures. Layout differs for speed: one
//! matching pass per image/category serves every maxDets value and packs the outcome for
//! the ten IoU thresholds into bitmasks, and accumulation runs per category in parallel.

use rayon::prelude::*;
use std::cmp::Ordering;
use std::collections::HashMap;

/// A ground-truth box, as in a COCO annotation file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroundTruth {
    pub image_id: u64,
    pub category_id: u64,
    /// x, y, width, height.
    pub bbox: [f64; 4],
    /// The annotation's `area` field (the mask area in COCO), used for the area ranges.
    pub area: f64,
    pub iscrowd: bool,
}

/// A detection, as in a COCO results file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Detection {
    pub image_id: u64,
    pub category_id: u64,
    /// x, y, width, height.
    pub bbox: [f64; 4],
    pub score: f64,
}

/// What to evaluate: the image and category ids play the role of the GT file's `images`
/// and `categories` lists.
pub struct EvalInput<'a> {
    pub image_ids: &'a [u64],
    pub category_ids: &'a [u64],
    pub ground_truth: &'a [GroundTruth],
    pub detections: &'a [Detection],
}

/// `COCOeval.stats` plus the AP of every category.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CocoStats {
    /// In pycocotools' order (`Score::COCO`); -1 where nothing could be measured.
    pub stats: [f64; 12],
    /// One entry per category id, sorted by id.
    pub per_category: Vec<CategoryAp>,
}

/// AP@[.50:.95] and AP@.50 (area all, maxDets 100) of one category.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CategoryAp {
    pub category_id: u64,
    /// -1.0 when the category has no (non-crowd) ground truth, like pycocotools.
    pub ap: f64,
    pub ap50: f64,
}

/// Why [`evaluate`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CocoEvalError {
    /// pycocotools' `loadRes` refuses such results too ("Results do not correspond to
    /// current coco set").
    #[error("detection #{index} is on image {image_id}, which is not among the evaluated images")]
    UnknownImage { image_id: u64, index: usize },
}

/// Short names of [`CocoStats::stats`], in order.
/// pycocotools' own short names of the 12 stats, as its fixtures name them.
#[cfg(test)]
pub const STAT_NAMES: [&str; 12] =
    ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"];

const T: usize = 10;
const R: usize = 101;
const A: usize = 4;
const M: usize = 3;
/// `np.linspace(.5, .95, 10)`: note 0.8999999999999999, not 0.9; exact IoU ties depend on it.
const IOU_THRS: [f64; T] = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95];
const MAX_DETS: [usize; M] = [1, 10, 100];
const MAX_DET: usize = 100;
const AREA_RNG: [[f64; 2]; A] = [[0.0, 1e10], [0.0, 1024.0], [1024.0, 9216.0], [9216.0, 1e10]];
const AREA_LBL: [&str; A] = ["all", "small", "medium", "large"];
const ALL_T: u16 = (1 << T) - 1;

/// `np.linspace(0, 1, 101)[r]`, which numpy computes as `r * 0.01`.
fn rec_thr(r: usize) -> f64 {
    r as f64 * 0.01
}

/// (is AP, IoU threshold index or all, area index, maxDets index) of each stat,
/// as in `_summarizeDets`.
const STAT_DEFS: [(bool, Option<usize>, usize, usize); 12] = [
    (true, None, 0, 2),
    (true, Some(0), 0, 2),
    (true, Some(5), 0, 2),
    (true, None, 1, 2),
    (true, None, 2, 2),
    (true, None, 3, 2),
    (false, None, 0, 0),
    (false, None, 0, 1),
    (false, None, 0, 2),
    (false, None, 1, 2),
    (false, None, 2, 2),
    (false, None, 3, 2),
];

/// Evaluates `input` exactly as pycocotools' `COCOeval(gt, dt, 'bbox')` with default
/// parameters followed by `evaluate()`, `accumulate()` and `summarize()`.
///
/// Ground truth and detections on categories outside `category_ids` are ignored, as is
/// ground truth on images outside `image_ids`; a detection on such an image is an error.
pub fn evaluate(input: &EvalInput) -> Result<CocoStats, CocoEvalError> {
    let evaluator = Evaluator::new(input.image_ids, input.category_ids);
    let rank_of = |image_id| evaluator.img_rank.get(&image_id).copied();
    // (image rank, input position) keys: input order within an image is the order
    // pycocotools sees, and it decides ties.
    let mut dt_keys = Vec::with_capacity(input.detections.len());
    for (index, d) in input.detections.iter().enumerate() {
        let Some(rank) = rank_of(d.image_id) else {
            return Err(CocoEvalError::UnknownImage { image_id: d.image_id, index });
        };
        dt_keys.push((rank, index as u32));
    }
    let mut gt_keys: Vec<(u32, u32)> = input
        .ground_truth
        .iter()
        .enumerate()
        .filter_map(|(index, g)| Some((rank_of(g.image_id)?, index as u32)))
        .collect();
    dt_keys.par_sort_unstable();
    gt_keys.par_sort_unstable();
    let (dt_runs, gt_runs) = (runs(&dt_keys, evaluator.ranks()), runs(&gt_keys, evaluator.ranks()));
    let images = (0..evaluator.ranks() as u32)
        .into_par_iter()
        .map_init(Scratch::default, |s, rank| {
            let r = rank as usize;
            let gts: Vec<&GroundTruth> =
                gt_keys[gt_runs[r]..gt_runs[r + 1]].iter().map(|&(_, j)| &input.ground_truth[j as usize]).collect();
            let dts: Vec<&Detection> =
                dt_keys[dt_runs[r]..dt_runs[r + 1]].iter().map(|&(_, j)| &input.detections[j as usize]).collect();
            evaluator.image_at_rank(rank, &gts, &dts, s)
        })
        .collect();
    Ok(evaluator.finish(images))
}

/// Start of each rank's run in `keys` (sorted by rank), plus the end: `ranks + 1` entries.
fn runs(keys: &[(u32, u32)], ranks: usize) -> Vec<usize> {
    let mut starts = Vec::with_capacity(ranks + 1);
    let mut at = 0;
    for rank in 0..=ranks as u32 {
        while at < keys.len() && keys[at].0 < rank {
            at += 1;
        }
        starts.push(at);
    }
    starts
}

/// COCOeval one image at a time, for datasets too large to hold every detection at once.
///
/// [`Evaluator::image`] runs pycocotools' `evaluateImg` on one image for every category and
/// area range as soon as its detections exist, and keeps only a compact record per kept
/// detection (32 bytes: score, ranks, true-positive and ignore bits); [`Evaluator::finish`]
/// ranks the records and accumulates. The result equals [`evaluate`] on the same input.
pub struct Evaluator {
    /// Image id → position among the sorted, distinct image ids.
    img_rank: IdMap,
    /// Rank of each image id as given to [`Evaluator::new`], by position.
    positions: Vec<u32>,
    cat_ids: Vec<u64>,
    cat_index: IdMap,
}

/// One image's match records, waiting for [`Evaluator::finish`].
pub struct ImageEval {
    /// Non-ignored ground truth per area range, by category index.
    npig: Vec<(u32, [u32; A])>,
    /// Kept detections, grouped by category: (category index, number of records) runs.
    runs: Vec<(u32, u32)>,
    recs: Vec<DetRec>,
}

impl Evaluator {
    /// The images and categories to evaluate, as a ground-truth file's `images` and
    /// `categories` lists name them.
    pub fn new(image_ids: &[u64], category_ids: &[u64]) -> Self {
        let mut img_ids = image_ids.to_vec();
        img_ids.sort_unstable();
        img_ids.dedup();
        let mut cat_ids = category_ids.to_vec();
        cat_ids.sort_unstable();
        cat_ids.dedup();
        let img_rank: IdMap = img_ids.iter().enumerate().map(|(i, &id)| (id, i as u32)).collect();
        let cat_index: IdMap = cat_ids.iter().enumerate().map(|(k, &id)| (id, k as u32)).collect();
        let positions = image_ids.iter().map(|id| img_rank[id]).collect();
        Evaluator { img_rank, positions, cat_ids, cat_index }
    }

    fn ranks(&self) -> usize {
        self.img_rank.len()
    }

    /// Matches the detections of the image at `position` in the ids given to
    /// [`Evaluator::new`] against its ground truth. Both lists must be that image's (their
    /// `image_id` fields are not read); their order decides score ties, as in pycocotools.
    pub fn image(&self, position: usize, ground_truth: &[GroundTruth], detections: &[Detection]) -> ImageEval {
        let gts: Vec<&GroundTruth> = ground_truth.iter().collect();
        let dts: Vec<&Detection> = detections.iter().collect();
        self.image_at_rank(self.positions[position], &gts, &dts, &mut Scratch::default())
    }

    fn image_at_rank(&self, rank: u32, gts: &[&GroundTruth], dts: &[&Detection], s: &mut Scratch) -> ImageEval {
        let by_category = |list: &mut Vec<(u32, u32)>, cats: &mut dyn Iterator<Item = u64>| {
            list.clear();
            list.extend(cats.enumerate().filter_map(|(j, c)| Some((*self.cat_index.get(&c)?, j as u32))));
            list.sort_unstable();
        };
        let (mut gk, mut dk) = (Vec::new(), Vec::new());
        by_category(&mut gk, &mut gts.iter().map(|g| g.category_id));
        by_category(&mut dk, &mut dts.iter().map(|d| d.category_id));

        let mut out = ImageEval { npig: Vec::new(), runs: Vec::new(), recs: Vec::new() };
        for run in gk.chunk_by(|a, b| a.0 == b.0) {
            // Non-ignored GT per area range (`npig`): crowd boxes are always ignored.
            let mut npig = [0u32; A];
            for &(_, j) in run {
                let g = gts[j as usize];
                for (n, [lo, hi]) in npig.iter_mut().zip(AREA_RNG) {
                    *n += u32::from(!(g.iscrowd || g.area < lo || g.area > hi));
                }
            }
            out.npig.push((run[0].0, npig));
        }
        let mut g_at = 0;
        for run in dk.chunk_by(|a, b| a.0 == b.0) {
            let k = run[0].0;
            while g_at < gk.len() && gk[g_at].0 < k {
                g_at += 1;
            }
            s.gts.clear();
            while g_at < gk.len() && gk[g_at].0 == k {
                let g = gts[gk[g_at].1 as usize];
                s.gts.push(GtLite { bbox: g.bbox, area: g.area, iscrowd: g.iscrowd });
                g_at += 1;
            }
            s.dts.clear();
            s.dts.extend(run.iter().map(|&(_, j)| j));
            s.dts.sort_by(|&a, &b| by_score_desc(dts[a as usize].score, dts[b as usize].score));
            s.dts.truncate(MAX_DET);
            let before = out.recs.len();
            match_cell(dts, rank, s, &mut out.recs);
            out.runs.push((k, (out.recs.len() - before) as u32));
        }
        out
    }

    /// Ranks every image's records and accumulates: the 12 stats and per-category AP.
    pub fn finish(&self, images: Vec<ImageEval>) -> CocoStats {
        let n_cats = self.cat_ids.len();
        let mut npig = vec![[0usize; A]; n_cats];
        let mut counts = vec![0usize; n_cats];
        for image in &images {
            for &(k, n) in &image.npig {
                for (total, n) in npig[k as usize].iter_mut().zip(n) {
                    *total += n as usize;
                }
            }
            for &(k, c) in &image.runs {
                counts[k as usize] += c as usize;
            }
        }
        let mut per_cat: Vec<Vec<DetRec>> = counts.iter().map(|&c| Vec::with_capacity(c)).collect();
        // Each image's records move to their categories and are freed: never held twice.
        for image in images {
            let mut at = 0;
            for (k, c) in image.runs {
                per_cat[k as usize].extend_from_slice(&image.recs[at..at + c as usize]);
                at += c as usize;
            }
        }
        let per_cat: Vec<CatEval> =
            per_cat.into_par_iter().zip(npig).map(|(recs, npig)| accumulate_category(recs, npig)).collect();

        let mut stats = [0.0; 12];
        for (s, &(ap, t, a, m)) in stats.iter_mut().zip(STAT_DEFS.iter()) {
            let ts = match t {
                Some(t) => t..t + 1,
                None => 0..T,
            };
            // Same element order as numpy's `s[s > -1]` on [T, R, K] (AP) or [T, K] (AR),
            // so the pairwise sum matches numpy's bit for bit.
            let mut vals = Vec::new();
            for t in ts {
                if ap {
                    for r in 0..R {
                        vals.extend(per_cat.iter().filter_map(|c| c.precision[a][m].as_ref().map(|p| p[t * R + r])));
                    }
                } else {
                    vals.extend(per_cat.iter().filter_map(|c| c.recall[a][m].map(|rc| rc[t])));
                }
            }
            *s = numpy_mean(&vals);
        }

        let per_category = self
            .cat_ids
            .iter()
            .zip(&per_cat)
            .map(|(&category_id, c)| match &c.precision[0][2] {
                Some(p) => CategoryAp { category_id, ap: numpy_mean(p), ap50: numpy_mean(&p[..R]) },
                None => CategoryAp { category_id, ap: -1.0, ap50: -1.0 },
            })
            .collect();
        CocoStats { stats, per_category }
    }
}

/// The 12 lines pycocotools' `summarize()` prints for `stats`.
pub fn summary_lines(stats: &[f64; 12]) -> Vec<String> {
    stats
        .iter()
        .zip(STAT_DEFS.iter())
        .map(|(&v, &(ap, t, a, m))| {
            let (title, kind) = if ap { ("Average Precision", "(AP)") } else { ("Average Recall", "(AR)") };
            let iou = match t {
                Some(t) => format!("{:.2}", IOU_THRS[t]),
                None => format!("{:.2}:{:.2}", IOU_THRS[0], IOU_THRS[T - 1]),
            };
            format!(
                " {title:<18} {kind} @[ IoU={iou:<9} | area={:>6} | maxDets={:>3} ] = {v:.3}",
                AREA_LBL[a], MAX_DETS[m]
            )
        })
        .collect()
}

/// Multiplicative (Fx-style) hash for integer ids: SipHash would dominate the lookups.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // The product's high bits are the well-mixed ones; the table indexes by low bits.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type IdMap = HashMap<u64, u32, std::hash::BuildHasherDefault<IdHasher>>;

/// One kept detection of one image: its score, its image, its rank within the image (for maxDets)
/// and, per area range, bit t set when it is a true positive (`tp`) or ignored (`ig`) at
/// IoU threshold t; neither means false positive.
#[derive(Clone, Copy)]
struct DetRec {
    score: f64,
    /// The image's position among the sorted image ids: ties in score keep image order.
    image: u32,
    rank: u8,
    tp: [u16; A],
    ig: [u16; A],
}

/// Accumulated result of one category: `precision[a][m]` is [T][R] flattened, `None`
/// (pycocotools' -1) when the category has no non-ignored GT in that area range.
struct CatEval {
    precision: [[Option<Vec<f64>>; M]; A],
    recall: [[Option<[f64; T]>; M]; A],
}

/// The fields of a GT box that matching reads, copied next to each other.
struct GtLite {
    bbox: [f64; 4],
    area: f64,
    iscrowd: bool,
}

#[derive(Default)]
struct Scratch {
    gts: Vec<GtLite>,
    dts: Vec<u32>,
    ious: Vec<f64>,
    can_match: Vec<bool>,
    order: Vec<u32>,
    matched: Vec<u16>,
}

/// Ranks one category's records as `accumulate` concatenates and sorts them, then
/// accumulates every area range and maxDets.
fn accumulate_category(mut recs: Vec<DetRec>, npig: [usize; A]) -> CatEval {
    let mut ev = CatEval { precision: Default::default(), recall: Default::default() };
    if npig.iter().all(|&n| n == 0) {
        return ev;
    }
    // `accumulate` concatenates images in order, each in rank order, then sorts by
    // descending score with a stable mergesort: that is this total order.
    recs.par_sort_unstable_by(|a, b| {
        by_score_desc(a.score, b.score).then(a.image.cmp(&b.image)).then(a.rank.cmp(&b.rank))
    });
    let mut scratch = AccScratch::default();
    for (a, &n) in npig.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let steps = recall_steps(n);
        for (m, &max_det) in MAX_DETS.iter().enumerate() {
            let (p, rc) = accumulate(&recs, a, max_det, n, &steps, &mut scratch);
            ev.precision[a][m] = Some(p);
            ev.recall[a][m] = Some(rc);
        }
    }
    ev
}

/// `evaluateImg` of one (image, category) cell for all four area ranges at once: `s.gts`
/// holds its ground truth, `s.dts` its kept detections (indices into `dts`, by descending
/// score); appends their records.
fn match_cell(dts: &[&Detection], image: u32, s: &mut Scratch, out: &mut Vec<DetRec>) {
    if s.dts.is_empty() {
        return;
    }
    let gts = &s.gts;
    let ng = gts.len();

    // IoU matrix, one row per detection, computed once for all thresholds and ranges.
    // Most detections overlap no GT by 0.5; they skip the matching loops (NaN IoUs,
    // which pycocotools treats peculiarly, take the full path).
    s.ious.clear();
    s.can_match.clear();
    for &di in &s.dts {
        let d = &dts[di as usize].bbox;
        let da = d[2] * d[3];
        let start = s.ious.len();
        s.ious.extend(gts.iter().map(|g| bb_iou(d, da, &g.bbox, g.iscrowd)));
        s.can_match.push(!s.ious[start..].iter().all(|&v| v < IOU_THRS[0]));
    }

    let base = out.len();
    out.extend(s.dts.iter().enumerate().map(|(rank, &di)| DetRec {
        score: dts[di as usize].score,
        image,
        rank: rank as u8,
        tp: [0; A],
        ig: [0; A],
    }));
    for (a, [lo, hi]) in AREA_RNG.into_iter().enumerate() {
        let ignored = |g: &GtLite| g.iscrowd || g.area < lo || g.area > hi;
        // GT sorted ignored-last, stably (`np.argsort(gtIg, kind='mergesort')`).
        s.order.clear();
        s.order.extend((0..ng as u32).filter(|&j| !ignored(&gts[j as usize])));
        let n_regular = s.order.len();
        s.order.extend((0..ng as u32).filter(|&j| ignored(&gts[j as usize])));
        s.matched.clear();
        s.matched.resize(ng, 0);

        for (d, rec) in out[base..].iter_mut().enumerate() {
            let row = &s.ious[d * ng..(d + 1) * ng];
            let (mut tp, mut ig, mut any) = (0u16, 0u16, 0u16);
            let thresholds = if s.can_match[d] { &IOU_THRS[..] } else { &[] };
            for (t, &thr) in thresholds.iter().enumerate() {
                let bit = 1u16 << t;
                let mut best = thr.min(1.0 - 1e-10);
                let mut m: Option<usize> = None;
                for (pos, &j) in s.order.iter().enumerate() {
                    let j = j as usize;
                    // A matched GT is taken, unless it is a crowd region.
                    if s.matched[j] & bit != 0 && !gts[j].iscrowd {
                        continue;
                    }
                    // Once matched to a regular GT, ignored GTs (all after it) can't win.
                    if m.is_some_and(|mp| mp < n_regular) && pos >= n_regular {
                        break;
                    }
                    if row[j] < best {
                        continue;
                    }
                    best = row[j];
                    m = Some(pos);
                }
                if let Some(mp) = m {
                    s.matched[s.order[mp] as usize] |= bit;
                    any |= bit;
                    if mp < n_regular {
                        tp |= bit;
                    } else {
                        ig |= bit;
                    }
                }
            }
            // Unmatched detections outside the area range are ignored, not false positives.
            let d_area = {
                let b = &dts[s.dts[d] as usize].bbox;
                b[2] * b[3]
            };
            if d_area < lo || d_area > hi {
                ig |= !any & ALL_T;
            }
            rec.tp[a] = tp;
            rec.ig[a] = ig;
        }
    }
}

/// maskApi.c `bbIou`, same operations in the same order; crowd GT divide by the
/// detection's area only.
fn bb_iou(d: &[f64; 4], da: f64, g: &[f64; 4], crowd: bool) -> f64 {
    let w = (d[2] + d[0]).min(g[2] + g[0]) - d[0].max(g[0]);
    if w <= 0.0 {
        return 0.0;
    }
    let h = (d[3] + d[1]).min(g[3] + g[1]) - d[1].max(g[1]);
    if h <= 0.0 {
        return 0.0;
    }
    let i = w * h;
    let u = if crowd { da } else { da + g[2] * g[3] - i };
    i / u
}

/// Order of `np.argsort(-scores, kind='mergesort')` when used with a stable sort:
/// descending, NaN last.
fn by_score_desc(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        (a_nan, b_nan) => a_nan.cmp(&b_nan),
    }
}

/// For each recall threshold, the smallest true-positive count whose recall
/// `tp / npig` (as a double, like numpy's `rc`) reaches it; `u32::MAX` if none does.
/// Sampling then compares integers yet agrees exactly with `searchsorted` on `rc`.
fn recall_steps(npig: usize) -> [u32; R] {
    let n = npig as f64;
    let mut steps = [u32::MAX; R];
    for (r, step) in steps.iter_mut().enumerate() {
        let thr = rec_thr(r);
        let mut k = (thr * n).ceil() as u64;
        while k > 0 && (k - 1) as f64 / n >= thr {
            k -= 1;
        }
        while (k as f64) / n < thr {
            k += 1;
        }
        *step = u32::try_from(k).unwrap_or(u32::MAX);
    }
    steps
}

#[derive(Default)]
struct AccScratch {
    packed: Vec<u32>,
    tp: Vec<u32>,
}

/// numpy's precision at a point: `tp / (fp + tp + np.spacing(1))`.
fn precision_at(tp: u64, n: u64) -> f64 {
    tp as f64 / ((n - tp) as f64 + tp as f64 + f64::EPSILON)
}

/// `accumulate` for one category, area range and maxDets: precision [T][R] and recall [T].
fn accumulate(
    recs: &[DetRec],
    a: usize,
    max_det: usize,
    npig: usize,
    steps: &[u32; R],
    s: &mut AccScratch,
) -> (Vec<f64>, [f64; T]) {
    // The detections within maxDets, tp bits low and ignore bits high.
    s.packed.clear();
    s.packed.extend(
        recs.iter().filter(|r| usize::from(r.rank) < max_det).map(|r| u32::from(r.tp[a]) | u32::from(r.ig[a]) << T),
    );
    let mut precision = vec![0.0; T * R];
    let mut recall = [0.0; T];
    for (t, (q, recall)) in precision.chunks_exact_mut(R).zip(&mut recall).enumerate() {
        // Cumulative tp at every non-ignored detection; entry j has j + 1 detections. Ignored
        // ones only repeat the previous (recall, precision) point, which cannot change the
        // sampled precision, so they are left out.
        s.tp.clear();
        let mut tp = 0u32;
        for &p in &s.packed {
            if p >> (T + t) & 1 == 0 {
                tp += p >> t & 1;
                s.tp.push(tp);
            }
        }
        *recall = f64::from(tp) / npig as f64;
        let n = s.tp.len();
        // `np.searchsorted(rc, recThrs, side='left')`; thresholds past the last recall
        // keep precision 0.
        let mut at = [0usize; R];
        let mut n_at = 0;
        let mut p = 0;
        for (&step, at) in steps.iter().zip(&mut at) {
            while p < n && s.tp[p] < step {
                p += 1;
            }
            if p == n {
                break;
            }
            *at = p;
            n_at += 1;
        }
        // Precision made non-increasing from the right, read at the sampled entries. For
        // j >= 1 the eps in the denominator rounds away, and rounding is monotone, so the
        // largest fraction tp_j / (j + 1), compared exactly by cross-multiplying, yields the
        // largest double. Entry 0 (denominator 1 + eps) is compared as a double.
        let mut best = (0u64, 1u64);
        let mut r = n_at;
        for j in (0..n).rev() {
            if r == 0 {
                break;
            }
            let (tp_j, n_j) = (u64::from(s.tp[j]), j as u64 + 1);
            if j > 0 && tp_j * best.1 > best.0 * n_j {
                best = (tp_j, n_j);
            }
            while r > 0 && at[r - 1] == j {
                let mut v = precision_at(best.0, best.1);
                if j == 0 {
                    v = v.max(precision_at(tp_j, 1));
                }
                q[r - 1] = v;
                r -= 1;
            }
        }
    }
    (precision, recall)
}

/// `np.mean` of a float64 array: numpy's pairwise summation, then a division; -1 when
/// empty, as `_summarize` does.
fn numpy_mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        -1.0
    } else {
        pairwise_sum(v) / v.len() as f64
    }
}

/// numpy's `pairwise_sum` for doubles (blocks of 128, 8 accumulators).
fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(-0.0, |acc, &x| acc + x)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let full = n - n % 8;
        for block in a[8..full].chunks_exact(8) {
            for (r, &x) in r.iter_mut().zip(block) {
                *r += x;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[full..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn gt(image_id: u64, category_id: u64, bbox: [f64; 4], iscrowd: bool) -> GroundTruth {
        GroundTruth { image_id, category_id, bbox, area: bbox[2] * bbox[3], iscrowd }
    }

    fn dt(image_id: u64, category_id: u64, bbox: [f64; 4], score: f64) -> Detection {
        Detection { image_id, category_id, bbox, score }
    }

    fn run(images: &[u64], cats: &[u64], g: &[GroundTruth], d: &[Detection]) -> CocoStats {
        evaluate(&EvalInput { image_ids: images, category_ids: cats, ground_truth: g, detections: d }).unwrap()
    }

    #[test]
    fn thresholds_match_numpy_linspace() {
        let step = (0.95 - 0.5) / 9.0;
        for (t, &thr) in IOU_THRS.iter().enumerate().take(T - 1) {
            assert_eq!(thr, t as f64 * step + 0.5);
        }
        assert_eq!(IOU_THRS[T - 1], 0.95);
    }

    #[test]
    fn recall_steps_agree_with_float_recall() {
        for npig in 1..500 {
            let n = npig as f64;
            for (r, &k) in recall_steps(npig).iter().enumerate() {
                let thr = rec_thr(r);
                assert!(f64::from(k) / n >= thr, "npig {npig} r {r}");
                assert!(k == 0 || f64::from(k - 1) / n < thr, "npig {npig} r {r}");
            }
        }
    }

    #[test]
    fn perfect_detections_score_one() {
        // One box per area range so every stat is defined.
        let g = [
            gt(1, 1, [10.0, 10.0, 20.0, 20.0], false),
            gt(1, 1, [100.0, 100.0, 50.0, 50.0], false),
            gt(2, 2, [0.0, 0.0, 200.0, 150.0], false),
        ];
        let d: Vec<_> = g.iter().map(|g| dt(g.image_id, g.category_id, g.bbox, 0.9)).collect();
        let s = run(&[1, 2], &[1, 2], &g, &d);
        for (name, v) in STAT_NAMES.iter().zip(s.stats) {
            let want = if *name == "AR1" { 0.75 } else { 1.0 };
            assert!((v - want).abs() < 1e-12, "{name} = {v}");
        }
        // Not exactly 1: pycocotools' precision tp / (tp + fp + eps) is 1 - 2^-52 for tp = 1.
        assert!(s.per_category.iter().all(|c| 1.0 - c.ap < 1e-12 && 1.0 - c.ap50 < 1e-12));
    }

    #[test]
    fn no_detections_score_zero() {
        let g = [gt(1, 1, [10.0, 10.0, 20.0, 20.0], false), gt(2, 3, [0.0, 0.0, 200.0, 150.0], false)];
        let s = run(&[1, 2], &[1, 2, 3], &g, &[]);
        assert_eq!(s.stats, [0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0]);
        let aps: Vec<_> = s.per_category.iter().map(|c| (c.category_id, c.ap)).collect();
        assert_eq!(aps, [(1, 0.0), (2, -1.0), (3, 0.0)]);
    }

    #[test]
    fn crowd_region_absorbs_detections() {
        // Three detections inside a crowd region are ignored, not false positives.
        let g = [gt(1, 1, [0.0, 0.0, 100.0, 100.0], false), gt(1, 1, [200.0, 200.0, 300.0, 300.0], true)];
        let mut d = vec![dt(1, 1, [0.0, 0.0, 100.0, 100.0], 0.5)];
        for (i, x) in [210.0, 260.0, 310.0].into_iter().enumerate() {
            d.push(dt(1, 1, [x, x, 40.0, 40.0], 0.9 - i as f64 * 0.1));
        }
        let s = run(&[1], &[1], &g, &d);
        assert!(1.0 - s.stats[0] < 1e-12);
        // Without the crowd flag they are false positives ranked above the true positive.
        let g2 = [g[0].clone(), GroundTruth { iscrowd: false, ..g[1].clone() }];
        assert!(run(&[1], &[1], &g2, &d).stats[0] < 0.5);
    }

    #[test]
    fn unknown_image_is_an_error() {
        let d = [dt(1, 1, [0.0, 0.0, 1.0, 1.0], 0.5), dt(7, 1, [0.0, 0.0, 1.0, 1.0], 0.5)];
        let err = evaluate(&EvalInput { image_ids: &[1, 2], category_ids: &[1], ground_truth: &[], detections: &d });
        assert_eq!(err, Err(CocoEvalError::UnknownImage { image_id: 7, index: 1 }));
    }

    #[test]
    fn summary_line_format() {
        let mut stats = [0.0; 12];
        stats[0] = 0.1234;
        stats[2] = 0.0625; // an exact tie: Python rounds half to even, and so does Rust
        stats[11] = -1.0;
        let lines = summary_lines(&stats);
        assert_eq!(lines[0], " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.123");
        assert_eq!(lines[1], " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.000");
        assert!(lines[2].ends_with("maxDets=100 ] = 0.062"), "{}", lines[2]);
        assert_eq!(lines[6], " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.000");
        assert_eq!(lines[11], " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000");
    }

    #[derive(serde::Deserialize)]
    struct Fixture {
        gt: FixtureGt,
        dt: Vec<Detection>,
        stats: Vec<f64>,
        per_category: BTreeMap<String, f64>,
        per_category_ap50: BTreeMap<String, f64>,
        summary: Vec<String>,
    }

    #[derive(serde::Deserialize)]
    struct FixtureGt {
        images: Vec<Id>,
        categories: Vec<Id>,
        annotations: Vec<FixtureAnn>,
    }

    #[derive(serde::Deserialize)]
    struct Id {
        id: u64,
    }

    #[derive(serde::Deserialize)]
    struct FixtureAnn {
        image_id: u64,
        category_id: u64,
        bbox: [f64; 4],
        area: f64,
        iscrowd: u8,
    }

    /// Every case written by scripts/make_cocoeval_fixtures.py from pycocotools 2.0.11.
    #[test]
    fn parity_with_pycocotools() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cocoeval");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        assert!(paths.len() >= 24, "expected the parity fixtures in {}", dir.display());
        let mut max_diff = 0.0f64;
        for path in &paths {
            let f: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let images: Vec<u64> = f.gt.images.iter().map(|i| i.id).collect();
            let cats: Vec<u64> = f.gt.categories.iter().map(|c| c.id).collect();
            let gts: Vec<GroundTruth> =
                f.gt.annotations
                    .iter()
                    .map(|a| GroundTruth {
                        image_id: a.image_id,
                        category_id: a.category_id,
                        bbox: a.bbox,
                        area: a.area,
                        iscrowd: a.iscrowd != 0,
                    })
                    .collect();
            let got = run(&images, &cats, &gts, &f.dt);
            let name = path.file_name().unwrap().to_string_lossy();
            // One image at a time, in reverse order, gives the same numbers to the last bit.
            let evaluator = Evaluator::new(&images, &cats);
            let streamed = (0..images.len())
                .rev()
                .map(|i| {
                    let on = |id: u64| id == images[i];
                    let g: Vec<_> = gts.iter().filter(|g| on(g.image_id)).cloned().collect();
                    let d: Vec<_> = f.dt.iter().filter(|d| on(d.image_id)).cloned().collect();
                    evaluator.image(i, &g, &d)
                })
                .collect();
            assert_eq!(evaluator.finish(streamed), got, "{name}: streamed");
            for (i, (&g, &w)) in got.stats.iter().zip(&f.stats).enumerate() {
                assert!((g - w).abs() <= 1e-6, "{name}: {} = {g}, pycocotools {w}", STAT_NAMES[i]);
                max_diff = max_diff.max((g - w).abs());
            }
            assert_eq!(got.per_category.len(), f.per_category.len(), "{name}");
            for c in &got.per_category {
                let key = c.category_id.to_string();
                for (g, w) in [(c.ap, f.per_category[&key]), (c.ap50, f.per_category_ap50[&key])] {
                    assert!((g - w).abs() <= 1e-6, "{name}: category {key}: {g} vs {w}");
                    max_diff = max_diff.max((g - w).abs());
                }
            }
            assert_eq!(summary_lines(&got.stats), f.summary, "{name}");
        }
        eprintln!("{} parity cases, max abs difference {max_diff:e}", paths.len());
    }
}
