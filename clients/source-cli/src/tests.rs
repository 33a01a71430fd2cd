//! Argument errors: caught by clap (exit code 2) with a message that says what to type.

use clap::{Parser, error::ErrorKind};

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("livestreamer-source").chain(args.iter().copied()))
}

#[test]
fn bad_stream_arguments_are_usage_errors_that_say_why() {
    for (args, says) in [
        (&["stream", "--bitrate", "100"][..], "128, 192, 256, 320"),
        (&["stream", "--tone", "5"], "20 to 20000"),
        (&["stream", "--save", "set.mp3"], "ending in .wav"),
        (
            &["stream", "--tone", "440", "--input", "a.wav"],
            "cannot be used with",
        ),
        (
            &["stream", "--device", "x", "--tone", "440"],
            "cannot be used with",
        ),
        (&["stream", "seven"], "invalid value"),
    ] {
        let error = parse(args).unwrap_err();
        assert_eq!(error.exit_code(), 2, "{args:?}");
        assert!(error.to_string().contains(says), "{args:?}: {error}");
    }
    let error = parse(&["schedule", "--title", "Set"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument);
}

#[test]
fn good_stream_arguments_become_options() {
    let Command::Stream(args) = parse(&[
        "stream",
        "42",
        "--tone",
        "440",
        "--bitrate",
        "320",
        "--save",
        "x.WAV",
    ])
    .unwrap()
    .command
    else {
        panic!("a stream command");
    };
    let options = args.into_options().unwrap();
    assert_eq!(options.target, uplink::Target::Broadcast(42));
    assert_eq!(options.source, stream::Source::Tone(440.0));
    assert_eq!(options.kbps, 320);
    let Command::Stream(args) = parse(&["stream"]).unwrap().command else {
        panic!("a stream command");
    };
    let options = args.into_options().unwrap();
    assert_eq!(
        (options.target, options.source),
        (uplink::Target::Now, stream::Source::Device(None))
    );
}

#[test]
fn saving_an_mp3_passthrough_is_refused() {
    let Command::Stream(args) = parse(&["stream", "--input", "set.mp3", "--save", "x.wav"])
        .unwrap()
        .command
    else {
        panic!("a stream command");
    };
    assert_eq!(args.into_options().err().unwrap().exit_code(), 2);
}
