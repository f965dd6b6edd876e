//! The `train` command: command-line settings turned into a [`TrainConfig`].

use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};

use crate::model::ModelKind;
use crate::train::{
    AdamSettings, DEFAULT_CHECKPOINT_EVERY, DEFAULT_FID_EVERY, DEFAULT_FID_SAMPLES, DataSource,
    GeneratorLoss, NonFinitePolicy, TrainConfig, TrainError, default_batch_size, default_ema_decay,
    default_learning_rate,
};

/// Adam's two decay rates, as `--generator-betas` and `--discriminator-betas` take them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Betas {
    /// Decay rate of the first-moment estimate.
    pub beta1: f32,
    /// Decay rate of the second-moment estimate.
    pub beta2: f32,
}

/// Parses `B1,B2` into [`Betas`], each in [0, 1).
///
/// # Errors
///
/// Returns a message naming the value and the expected form, for clap to print.
pub fn parse_betas(text: &str) -> Result<Betas, String> {
    let form = "expected two numbers in [0, 1) separated by a comma, such as 0.5,0.999";
    let Some((first, second)) = text.split_once(',') else {
        return Err(format!("invalid betas {text:?}: {form}"));
    };
    let parse = |part: &str| -> Result<f32, String> {
        let beta: f32 = part
            .trim()
            .parse()
            .map_err(|_| format!("invalid beta {part:?} in {text:?}: {form}"))?;
        if !(0.0..1.0).contains(&beta) {
            return Err(format!("invalid beta {beta} in {text:?}: {form}"));
        }
        Ok(beta)
    };
    Ok(Betas {
        beta1: parse(first)?,
        beta2: parse(second)?,
    })
}

/// Settings of `bcegan train`.
#[derive(Debug, Clone, Args)]
pub struct TrainArgs {
    /// MNIST-format (IDX) folder to train on, such as /usr/share/datasets/fashion-mnist;
    /// without it, the 10,000 digits built into the binary
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Architecture of the networks: the course's fully connected pair, or its DCGAN pair
    /// (convolutions, images scaled to [-1, 1])
    #[arg(long, value_enum, default_value_t = ModelKind::Mlp)]
    pub model: ModelKind,

    /// Total number of steps (one discriminator update plus one generator update each)
    #[arg(long, default_value_t = 10000)]
    pub steps: u64,

    /// Wall-clock budget of the training loop, such as 300s, 5m or 1h30m (units h, m, s,
    /// ms), summed over resumed sessions. The step that spends it ends the run as if
    /// --steps had been reached
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub time_limit: Option<Duration>,

    /// Images per batch [default: 64]
    #[arg(long)]
    pub batch_size: Option<usize>,

    /// Adam learning rate of both networks [default: 1e-4 for --model mlp, 2e-4 for
    /// --model dcgan]
    #[arg(long)]
    pub lr: Option<f64>,

    /// Adam learning rate of the generator, replacing --lr for it
    #[arg(long)]
    pub generator_lr: Option<f64>,

    /// Adam learning rate of the discriminator, replacing --lr for it
    #[arg(long)]
    pub discriminator_lr: Option<f64>,

    /// Adam beta1 (first-moment decay) of both networks
    #[arg(long, default_value_t = 0.5)]
    pub beta1: f32,

    /// Adam beta2 (second-moment decay) of both networks
    #[arg(long, default_value_t = 0.999)]
    pub beta2: f32,

    /// Adam betas of the generator, replacing --beta1 and --beta2 for it
    #[arg(long, value_name = "B1,B2", value_parser = parse_betas)]
    pub generator_betas: Option<Betas>,

    /// Adam betas of the discriminator, replacing --beta1 and --beta2 for it
    #[arg(long, value_name = "B1,B2", value_parser = parse_betas)]
    pub discriminator_betas: Option<Betas>,

    /// Adam epsilon of both networks (PyTorch's default)
    #[arg(long, default_value_t = 1e-8)]
    pub adam_epsilon: f32,

    /// Target of the real images in the discriminator's cost, in (0, 1]; below 1 (such as
    /// 0.9) for one-sided label smoothing
    #[arg(long, default_value_t = 1.0)]
    pub real_target: f32,

    /// Cost the generator minimises, which metrics.csv records as g_loss: non-saturating
    /// BCE(D(G(z)), 1), or minimax -BCE(D(G(z)), 0)
    #[arg(long, value_enum, default_value_t = GeneratorLoss::NonSaturating)]
    pub generator_loss: GeneratorLoss,

    /// Decay of the exponential moving average of the generator's weights that samples,
    /// quick FIDs, checkpoints and `bcegan sample`/`eval` use; 0 keeps no average [default:
    /// 0.999 for --model mlp, 0 for --model dcgan]
    #[arg(long, value_name = "DECAY")]
    pub ema_decay: Option<f64>,

    /// Length of the generator's noise vector
    #[arg(long, default_value_t = 64)]
    pub latent_dim: usize,

    /// Seed of the weights, the noise and the batch order
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Steps between two log lines and metrics.csv rows
    #[arg(long, default_value_t = 100)]
    pub log_every: u64,

    /// Steps between two sample grids in OUT/samples/
    #[arg(long, default_value_t = 500)]
    pub sample_every: u64,

    /// Images in each sample grid
    #[arg(long, default_value_t = 64)]
    pub sample_count: usize,

    /// Steps between two checkpoints (OUT/checkpoint.safetensors); the last step always
    /// writes one, and so does Ctrl-C or SIGTERM
    #[arg(long, default_value_t = DEFAULT_CHECKPOINT_EVERY)]
    pub checkpoint_every: u64,

    /// Action when a loss or a gradient is NaN or infinite: stop with an error, or skip
    /// that update and count it in metrics.csv
    #[arg(long, value_enum, default_value_t = NonFinitePolicy::Stop)]
    pub on_nan: NonFinitePolicy,

    /// Run folder [default: the first free runs/run-NNN]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Continue the run in --out from its last checkpoint up to --steps in total; the
    /// other settings come from the run's config.json
    #[arg(long, requires = "out")]
    pub resume: bool,

    /// Write into a non-empty --out folder that is not a bcegan run, replacing files with
    /// the run's names. A bcegan run folder is never overwritten
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,

    /// Start from the weights in a PyTorch-named SafeTensors file, as written by
    /// `bcegan export --torch` (names gen.0.0.weight, ...), instead of seeded random ones
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,

    /// Steps between two quick FIDs of --fid-samples generated images against held-out real
    /// ones, logged and written to metrics.csv; the lowest keeps its state in
    /// OUT/checkpoint-best.safetensors. 0 turns them off
    #[arg(long, default_value_t = DEFAULT_FID_EVERY)]
    pub fid_every: u64,

    /// Generated images per quick FID
    #[arg(long, default_value_t = DEFAULT_FID_SAMPLES)]
    pub fid_samples: usize,

    /// Feature classifier of the quick FID, as written by `bcegan classifier train`
    /// [default: the built-in one for the data; without one, no quick FID]
    #[arg(long, value_name = "FILE")]
    pub classifier: Option<PathBuf>,

    /// Worker threads of the tensor operations [default: RAYON_NUM_THREADS, else the
    /// number of cores]
    #[arg(long)]
    pub threads: Option<usize>,
}

impl TrainArgs {
    /// Builds the run's configuration; `out` is the run folder to use.
    pub fn to_config(&self, out: PathBuf) -> TrainConfig {
        let shared = AdamSettings {
            lr: self.lr.unwrap_or_else(|| default_learning_rate(self.model)),
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.adam_epsilon,
        };
        let per_network = |lr: Option<f64>, betas: Option<Betas>| AdamSettings {
            lr: lr.unwrap_or(shared.lr),
            beta1: betas.map_or(shared.beta1, |betas| betas.beta1),
            beta2: betas.map_or(shared.beta2, |betas| betas.beta2),
            epsilon: shared.epsilon,
        };
        TrainConfig {
            data: match &self.data {
                Some(dir) => DataSource::Dir(dir.clone()),
                None => DataSource::Embedded,
            },
            model: self.model,
            steps: self.steps,
            time_limit_s: self.time_limit.map(|limit| limit.as_secs_f64()),
            batch_size: self
                .batch_size
                .unwrap_or_else(|| default_batch_size(self.model)),
            latent_dim: self.latent_dim,
            generator_adam: per_network(self.generator_lr, self.generator_betas),
            discriminator_adam: per_network(self.discriminator_lr, self.discriminator_betas),
            real_target: self.real_target,
            generator_loss: self.generator_loss,
            // `+ 0.0` stores −0 as 0, so that `--ema-decay 0` matches it on resume.
            ema_decay: self
                .ema_decay
                .unwrap_or_else(|| default_ema_decay(self.model))
                + 0.0,
            seed: self.seed,
            log_every: self.log_every,
            sample_every: self.sample_every,
            sample_count: self.sample_count,
            checkpoint_every: self.checkpoint_every,
            on_nan: self.on_nan,
            init_from: self.init_from.clone(),
            fid_every: self.fid_every,
            fid_samples: self.fid_samples,
            classifier: self.classifier.clone(),
            out,
        }
    }

    /// Builds the configuration to resume a run whose `config.json` is `saved`: `--steps`,
    /// `--time-limit`, `--checkpoint-every`, `--on-nan` and the quick-FID options replace the
    /// saved values when given, and any other option in `given` must equal the saved value.
    ///
    /// # Errors
    ///
    /// Returns [`TrainError::ResumeConflict`] for the first given option that differs from
    /// the run's setting.
    pub fn resume_config(
        &self,
        saved: TrainConfig,
        given: &[String],
    ) -> Result<TrainConfig, TrainError> {
        let requested = self.to_config(saved.out.clone());
        let is_given = |id: &str| given.iter().any(|given_id| given_id == id);
        let generator = saved.generator_adam;
        let discriminator = saved.discriminator_adam;
        // An option that sets both networks matches only a run whose two values are equal.
        // Where they differ, the saved side shows both, so it never equals the given value.
        let both = |generator: String, discriminator: String| {
            if generator == discriminator {
                generator
            } else {
                format!("{generator} (generator) and {discriminator} (discriminator)")
            }
        };
        let betas = |adam: &AdamSettings| format!("{},{}", adam.beta1, adam.beta2);
        let given_betas = |betas: Option<Betas>| {
            betas.map_or_else(String::new, |betas| {
                format!("{},{}", betas.beta1, betas.beta2)
            })
        };
        let checks: Vec<(&str, &'static str, String, String)> = vec![
            (
                "data",
                "--data",
                format!("{:?}", requested.data),
                format!("{:?}", saved.data),
            ),
            (
                "model",
                "--model",
                requested.model.name().to_owned(),
                saved.model.name().to_owned(),
            ),
            (
                "batch_size",
                "--batch-size",
                requested.batch_size.to_string(),
                saved.batch_size.to_string(),
            ),
            (
                "lr",
                "--lr",
                format!("{:?}", self.lr.unwrap_or(f64::NAN)),
                both(
                    format!("{:?}", generator.lr),
                    format!("{:?}", discriminator.lr),
                ),
            ),
            (
                "generator_lr",
                "--generator-lr",
                format!("{:?}", self.generator_lr.unwrap_or(f64::NAN)),
                format!("{:?}", generator.lr),
            ),
            (
                "discriminator_lr",
                "--discriminator-lr",
                format!("{:?}", self.discriminator_lr.unwrap_or(f64::NAN)),
                format!("{:?}", discriminator.lr),
            ),
            (
                "beta1",
                "--beta1",
                self.beta1.to_string(),
                both(generator.beta1.to_string(), discriminator.beta1.to_string()),
            ),
            (
                "beta2",
                "--beta2",
                self.beta2.to_string(),
                both(generator.beta2.to_string(), discriminator.beta2.to_string()),
            ),
            (
                "generator_betas",
                "--generator-betas",
                given_betas(self.generator_betas),
                betas(&generator),
            ),
            (
                "discriminator_betas",
                "--discriminator-betas",
                given_betas(self.discriminator_betas),
                betas(&discriminator),
            ),
            (
                "adam_epsilon",
                "--adam-epsilon",
                self.adam_epsilon.to_string(),
                both(
                    generator.epsilon.to_string(),
                    discriminator.epsilon.to_string(),
                ),
            ),
            (
                "real_target",
                "--real-target",
                requested.real_target.to_string(),
                saved.real_target.to_string(),
            ),
            (
                "generator_loss",
                "--generator-loss",
                requested.generator_loss.name().to_owned(),
                saved.generator_loss.name().to_owned(),
            ),
            (
                "ema_decay",
                "--ema-decay",
                requested.ema_decay.to_string(),
                saved.ema_decay.to_string(),
            ),
            (
                "latent_dim",
                "--latent-dim",
                requested.latent_dim.to_string(),
                saved.latent_dim.to_string(),
            ),
            (
                "seed",
                "--seed",
                requested.seed.to_string(),
                saved.seed.to_string(),
            ),
            (
                "log_every",
                "--log-every",
                requested.log_every.to_string(),
                saved.log_every.to_string(),
            ),
            (
                "sample_every",
                "--sample-every",
                requested.sample_every.to_string(),
                saved.sample_every.to_string(),
            ),
            (
                "sample_count",
                "--sample-count",
                requested.sample_count.to_string(),
                saved.sample_count.to_string(),
            ),
        ];
        for (id, name, given_value, saved_value) in checks {
            if is_given(id) && given_value != saved_value {
                return Err(TrainError::ResumeConflict {
                    name,
                    given: given_value,
                    saved: saved_value,
                });
            }
        }

        let mut config = saved;
        if is_given("steps") {
            config.steps = self.steps;
        }
        if is_given("time_limit") {
            config.time_limit_s = requested.time_limit_s;
        }
        if is_given("checkpoint_every") {
            config.checkpoint_every = self.checkpoint_every;
        }
        if is_given("on_nan") {
            config.on_nan = self.on_nan;
        }
        if is_given("fid_every") {
            config.fid_every = self.fid_every;
        }
        if is_given("fid_samples") {
            config.fid_samples = self.fid_samples;
        }
        if is_given("classifier") {
            config.classifier.clone_from(&self.classifier);
        }
        Ok(config)
    }
}

/// Returns the ids (field names) of the options that `matches` got from the command line
/// rather than from their defaults.
pub fn given_options(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// Returns the first `runs/run-NNN` folder that does not exist yet.
pub fn next_free_run_folder(parent: &std::path::Path) -> PathBuf {
    (1..)
        .map(|number| parent.join(format!("run-{number:03}")))
        .find(|path| !path.exists())
        .unwrap_or_else(|| parent.join("run"))
}

/// Parses a duration written as numbers each followed by a unit (`h`, `m`, `s` or `ms`),
/// such as `300s`, `5m`, `1h30m` or `1.5h`, and adds the parts up.
///
/// # Errors
///
/// Returns a message naming the text when a part has no number or no unit, a unit is
/// unknown, or the total is zero or too large to represent.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    const EXAMPLES: &str = "write a number and a unit (h, m, s or ms), such as 300s, 5m or 1h30m";
    let mut total_s = 0.0_f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(format!("empty duration: {EXAMPLES}"));
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after_number) = rest.split_at(number_len);
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        let value: f64 = number.parse().map_err(|_| {
            format!("invalid duration {text:?}: expected a number before {unit:?}; {EXAMPLES}")
        })?;
        let seconds_per_unit = match unit.trim() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "" => {
                return Err(format!(
                    "invalid duration {text:?}: {number} has no unit; {EXAMPLES}"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration {text:?}: unknown unit {other:?}; {EXAMPLES}"
                ));
            }
        };
        total_s += value * seconds_per_unit;
        rest = after_unit;
    }
    if total_s <= 0.0 {
        return Err(format!(
            "invalid duration {text:?}: must be longer than zero"
        ));
    }
    Duration::try_from_secs_f64(total_s)
        .map_err(|_| format!("invalid duration {text:?}: too long to represent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_duration_accepts_units() {
        let cases: [(&str, f64); 7] = [
            ("300s", 300.0),
            ("5m", 300.0),
            ("1h30m", 5400.0),
            ("1.5h", 5400.0),
            ("250ms", 0.25),
            ("2m 30s", 150.0),
            ("1h0m1s", 3601.0),
        ];
        for (text, expected_s) in cases {
            let parsed = parse_duration(text);
            let Ok(duration) = parsed else {
                panic!("parse {text:?}: expected {expected_s} s, got {parsed:?}");
            };
            assert_eq!(duration.as_secs_f64(), expected_s, "seconds of {text:?}");
        }
    }

    #[test]
    fn parse_duration_rejects_bad_text() {
        let cases: [(&str, &str); 8] = [
            ("", "empty duration"),
            ("300", "has no unit"),
            ("5x", "unknown unit \"x\""),
            ("m", "expected a number"),
            ("1..5m", "expected a number"),
            ("0s", "longer than zero"),
            ("-5m", "expected a number"),
            ("1e300h", "unknown unit"),
        ];
        for (text, needle) in cases {
            let parsed = parse_duration(text);
            let Err(message) = parsed else {
                panic!("parse {text:?}: expected an error, got {parsed:?}");
            };
            assert!(
                message.contains(needle),
                "parse {text:?}: expected {needle:?} in {message:?}"
            );
        }
    }

    #[test]
    fn parse_duration_rejects_overflow() {
        let text = format!("{}h", "9".repeat(30));
        let parsed = parse_duration(&text);
        let Err(message) = parsed else {
            panic!("parse {text:?}: expected an error, got {parsed:?}");
        };
        assert!(
            message.contains("too long"),
            "parse {text:?}: expected \"too long\" in {message:?}"
        );
    }

    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: TrainArgs,
    }

    fn parse_args(words: &[&str]) -> TrainArgs {
        use clap::Parser;
        let argv = std::iter::once("train").chain(words.iter().copied());
        match Wrapper::try_parse_from(argv) {
            Ok(wrapper) => wrapper.args,
            Err(error) => panic!("parse {words:?}: {error}"),
        }
    }

    #[test]
    fn resume_replaces_time_limit_when_given() {
        let saved = parse_args(&["--time-limit", "1m"]).to_config(PathBuf::from("run"));
        let given = vec!["time_limit".to_owned()];
        let resumed = parse_args(&["--time-limit", "5m"]).resume_config(saved.clone(), &given);
        let Ok(resumed) = resumed else {
            panic!("resume with --time-limit 5m: expected success, got {resumed:?}");
        };
        assert_eq!(
            resumed.time_limit_s,
            Some(300.0),
            "time limit after --time-limit 5m"
        );

        let kept = parse_args(&[]).resume_config(saved, &[]);
        let Ok(kept) = kept else {
            panic!("resume without --time-limit: expected success, got {kept:?}");
        };
        assert_eq!(
            kept.time_limit_s,
            Some(60.0),
            "time limit kept from config.json"
        );
    }
}
