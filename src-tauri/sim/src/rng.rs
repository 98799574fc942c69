//! A small deterministic random number generator for the plant's noise.
//!
//! The simulator must give the same plant for the same seed on every machine and every build, so it
//! carries its own generator (SplitMix64, a well-known 64-bit mixer) instead of depending on a crate
//! whose stream may change between versions.

/// SplitMix64: fast, tiny state, good enough statistics for measurement noise.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    /// Box-Muller yields normals in pairs; the second one waits here.
    spare_normal: Option<f64>,
}

impl Rng {
    /// A generator whose whole stream is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed,
            spare_normal: None,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Normally distributed with mean 0 and the given standard deviation.
    pub fn normal(&mut self, sigma: f64) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z * sigma;
        }
        // Box-Muller; 1 - u keeps the logarithm away from zero.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let radius = (-2.0 * u1.ln()).sqrt();
        let angle = std::f64::consts::TAU * u2;
        self.spare_normal = Some(radius * angle.sin());
        radius * angle.cos() * sigma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_the_same_stream() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn normal_noise_has_the_asked_spread() {
        let mut rng = Rng::new(7);
        let n = 20_000;
        let samples: Vec<f64> = (0..n).map(|_| rng.normal(2.0)).collect();
        let mean = samples.iter().sum::<f64>() / n as f64;
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean} should be near 0");
        assert!(
            (var.sqrt() - 2.0).abs() < 0.05,
            "sigma {} should be near 2",
            var.sqrt()
        );
    }
}
