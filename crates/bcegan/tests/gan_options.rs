//! The GAN options of `bcegan train` around BCE: model, per-network Adam settings, label
//! smoothing and the generator's cost, from the command line to the run's configuration.

use std::path::PathBuf;

use bcegan::cli::train::TrainArgs;
use bcegan::model::ModelKind;
use bcegan::train::{GeneratorLoss, TrainConfig, TrainError, train};
use burn::tensor::Device;
use clap::Parser;

#[derive(Parser, Debug)]
struct Wrapper {
    #[command(flatten)]
    args: TrainArgs,
}

fn parse(words: &[&str]) -> Result<TrainArgs, clap::Error> {
    let mut argv = vec!["train"];
    argv.extend_from_slice(words);
    Wrapper::try_parse_from(argv).map(|wrapper| wrapper.args)
}

fn config(words: &[&str]) -> TrainConfig {
    match parse(words) {
        Ok(args) => args.to_config(PathBuf::from("unused")),
        Err(error) => panic!("{words:?}: expected to parse, got {error}"),
    }
}

#[test]
fn defaults_depend_on_model() {
    let mlp = config(&[]);
    assert_eq!(mlp.model, ModelKind::Mlp, "default model");
    assert_eq!(mlp.generator_adam.lr, 1e-4, "MLP learning rate");
    assert_eq!(mlp.batch_size, 64, "MLP batch size");
    assert_eq!(mlp.steps, 10_000, "default step count");
    let dcgan = config(&["--model", "dcgan"]);
    assert_eq!(dcgan.model, ModelKind::Dcgan, "--model dcgan");
    for adam in [dcgan.generator_adam, dcgan.discriminator_adam] {
        assert_eq!(adam.lr, 2e-4, "DCGAN learning rate");
        assert_eq!((adam.beta1, adam.beta2), (0.5, 0.999), "DCGAN betas");
    }
    assert_eq!(dcgan.batch_size, 64, "DCGAN batch size");
    assert_eq!(mlp.ema_decay, 0.999, "MLP weight average");
    assert_eq!(dcgan.ema_decay, 0.0, "DCGAN keeps no weight average");
    let no_average = config(&["--ema-decay", "0"]);
    assert_eq!(
        no_average.ema_decay, 0.0,
        "--ema-decay replaces the default"
    );
    // −0 is stored as 0, which a resume with `--ema-decay 0` then matches.
    let negative_zero = config(&["--ema-decay=-0"]);
    assert_eq!(
        negative_zero.ema_decay.to_bits(),
        0.0_f64.to_bits(),
        "--ema-decay=-0 is stored as 0"
    );
    assert_eq!(dcgan.latent_dim, 64, "DCGAN noise length");
    let small_batch = config(&["--batch-size", "32"]);
    assert_eq!(
        small_batch.batch_size, 32,
        "--batch-size replaces the model's default"
    );
    let given = config(&["--model", "dcgan", "--lr", "0.001"]);
    assert_eq!(
        given.generator_adam.lr, 1e-3,
        "--lr replaces the model's default"
    );
}

#[test]
fn per_network_adam_overrides_shared() {
    let settings = config(&[
        "--lr",
        "0.001",
        "--beta1",
        "0.4",
        "--generator-lr",
        "0.003",
        "--discriminator-betas",
        "0.1,0.9",
    ]);
    assert_eq!(settings.generator_adam.lr, 3e-3, "generator lr");
    assert_eq!(settings.discriminator_adam.lr, 1e-3, "discriminator lr");
    assert_eq!(settings.generator_adam.beta1, 0.4, "generator beta1");
    assert_eq!(
        (
            settings.discriminator_adam.beta1,
            settings.discriminator_adam.beta2
        ),
        (0.1, 0.9),
        "discriminator betas"
    );
}

#[test]
fn smoothing_and_loss_options_parse() {
    let settings = config(&["--real-target", "0.9", "--generator-loss", "minimax"]);
    assert_eq!(settings.real_target, 0.9, "--real-target");
    assert_eq!(
        settings.generator_loss,
        GeneratorLoss::Minimax,
        "--generator-loss"
    );
    let defaults = config(&[]);
    assert_eq!(defaults.real_target, 1.0, "default real target");
    assert_eq!(
        defaults.generator_loss,
        GeneratorLoss::NonSaturating,
        "default generator loss"
    );
}

#[test]
fn betas_parse_errors_name_value() {
    let cases = ["0.5", "0.5,x", "0.5,1.0", "-0.1,0.9", ""];
    for betas in cases {
        // The `=` form lets a value start with a minus sign.
        let word = format!("--generator-betas={betas}");
        let result = parse(&[&word]);
        let Err(error) = result else {
            panic!("--generator-betas {betas:?}: expected a parse error");
        };
        let message = error.to_string();
        assert!(
            message.contains("--generator-betas"),
            "message names the option for {betas:?}: {message}"
        );
        assert!(
            message.contains("0.5,0.999"),
            "message shows the expected form for {betas:?}: {message}"
        );
    }
}

/// Returns the error of a new run with `words`, which must fail validation before any
/// file is written.
fn invalid_setting(words: &[&str]) -> (&'static str, String) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let mut settings = config(words);
    settings.out = folder.path().join("run");
    match train(&settings, &Device::flex().autodiff()) {
        Err(TrainError::InvalidConfig { name, expected, .. }) => {
            assert!(
                !settings.out.exists(),
                "{words:?}: no run folder after a rejected setting"
            );
            (name, expected)
        }
        other => panic!("{words:?}: expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn invalid_options_rejected_by_name() {
    let cases: [(&[&str], &str); 10] = [
        (&["--ema-decay", "1"], "--ema-decay"),
        (&["--ema-decay=-0.5"], "--ema-decay"),
        (&["--ema-decay", "NaN"], "--ema-decay"),
        (&["--real-target", "0"], "--real-target"),
        (&["--real-target", "1.5"], "--real-target"),
        (&["--real-target", "NaN"], "--real-target"),
        (&["--generator-lr=-1"], "--lr or --generator-lr"),
        (&["--discriminator-lr", "inf"], "--lr or --discriminator-lr"),
        (&["--lr", "0"], "--lr or --generator-lr"),
        (&["--beta2", "1"], "--beta2 or --generator-betas"),
    ];
    for (words, expected_name) in cases {
        let (name, _) = invalid_setting(words);
        assert_eq!(name, expected_name, "option named for {words:?}");
    }
    let (_, expected) = invalid_setting(&["--real-target", "0"]);
    assert!(
        expected.contains("(0, 1]"),
        "--real-target message gives the range: {expected}"
    );
}

#[test]
fn resume_rejects_changed_gan_options() {
    let saved = config(&["--model", "dcgan", "--generator-lr", "0.001"]);
    let cases: [(&[&str], &str, &str); 5] = [
        (&["--model", "mlp"], "model", "--model"),
        (
            &["--generator-loss", "minimax"],
            "generator_loss",
            "--generator-loss",
        ),
        (&["--real-target", "0.9"], "real_target", "--real-target"),
        (&["--ema-decay", "0.99"], "ema_decay", "--ema-decay"),
        // The run's two learning rates differ, so one shared --lr cannot match them.
        (&["--lr", "0.001"], "lr", "--lr"),
    ];
    for (words, id, expected_name) in cases {
        let args = parse(words).expect("resume arguments parse");
        let result = args.resume_config(saved.clone(), &[id.to_owned()]);
        match result {
            Err(TrainError::ResumeConflict { name, .. }) => {
                assert_eq!(name, expected_name, "conflict named for {words:?}")
            }
            other => panic!("{words:?}: expected ResumeConflict, got {other:?}"),
        }
    }
    let same = parse(&["--generator-lr", "0.001"]).expect("arguments parse");
    let result = same.resume_config(saved.clone(), &["generator_lr".to_owned()]);
    assert!(
        result.is_ok(),
        "--generator-lr equal to the run's: expected Ok, got {result:?}"
    );
}
