#!/usr/bin/env python3
"""The embedded offline transcriber: WAV path in, {"text": ..., "language": ...} out.

Moonshine tiny-en (MIT code and weights) ships inside the PyPI wheel moonshine-voice==0.0.73,
so a fresh machine transcribes voicemails with no account and no download at run time. Pin
that version: later releases fetch the model from Moonshine's server instead. English only.
The worker runs this once per voicemail (NMC_OFFLINE_TRANSCRIBER); set
NMC_TRANSCRIPTION_BASE_URL to use an OpenAI-compatible /audio/transcriptions service instead.
"""
import json
import sys


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: transcribe.py FILE.wav")
    from moonshine_voice import ModelArch, Transcriber, get_model_path, load_wav_file

    model = Transcriber(str(get_model_path("tiny-en")), ModelArch.TINY)
    audio, rate = load_wav_file(sys.argv[1])
    heard = model.transcribe_without_streaming(audio, rate)
    text = " ".join(line.text.strip() for line in heard.lines).strip()
    print(json.dumps({"text": text, "language": "en"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
