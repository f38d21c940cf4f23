//! Deterministic seeds: every random draw is keyed by (suite seed, case id, image id).
//!
//! The hash is spelled out here (FNV-1a, then a SplitMix64 finaliser) rather than taken from
//! `std::hash`, whose output may change between Rust releases: baselines must not.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every random perturbation draws from. ChaCha's output is fixed by its
/// specification, so a seed gives the same stream on every platform and crate version.
pub type CaseRng = ChaCha8Rng;

/// Seed for one image of one case. Independent of thread count and scheduling.
pub fn derive(suite_seed: u64, case_id: &str, image_id: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = suite_seed.to_le_bytes().into_iter().chain(case_id.bytes()).chain([0xff]).chain(image_id.to_le_bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix64(h)
}

/// Generator for one image of one case.
pub fn case_rng(suite_seed: u64, case_id: &str, image_id: u64) -> CaseRng {
    CaseRng::seed_from_u64(derive(suite_seed, case_id, image_id))
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn seeds_are_stable_across_releases() {
        // Pinned: changing the derivation silently changes every random baseline.
        assert_eq!(derive(42, "noise::gaussian_noise::sigma=0.1", 7), 0x4497_6d3d_5019_ce5b);
    }

    #[test]
    fn every_key_part_changes_the_seed() {
        let base = derive(1, "a", 1);
        assert_ne!(base, derive(2, "a", 1));
        assert_ne!(base, derive(1, "b", 1));
        assert_ne!(base, derive(1, "a", 2));
        // The separator keeps ("a", 1) and ("a\u{1}", ...) apart.
        assert_ne!(derive(1, "a1", 1), derive(1, "a", 1));
    }

    #[test]
    fn same_key_same_stream() {
        let a: Vec<u32> = case_rng(5, "x", 9).random_iter().take(8).collect();
        let b: Vec<u32> = case_rng(5, "x", 9).random_iter().take(8).collect();
        assert_eq!(a, b);
    }
}
