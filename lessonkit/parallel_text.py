"""A short parallel text about language models in five languages, and what it costs in tokens.

The same four sentences in English, Norwegian (bokmål), Hindi, Nepali and Kannada, written for this
course. Hindi and Nepali use the Devanagari script and Kannada its own; in UTF-8 each of their
characters takes 3 bytes, against 1 for ASCII letters and 2 for æ, ø and å. A byte-level BPE whose
merges were learned mostly on English text has few merges for those byte sequences, so the same
meaning costs many more tokens. Characters here are Unicode code points (a Devanagari vowel sign
counts as one), and words are runs of characters between spaces.
"""

from __future__ import annotations

from collections.abc import Mapping

PARALLEL_TEXT: dict[str, str] = {
    "English": (
        "A language model reads text as a sequence of tokens. It learns to predict the next "
        "token from the tokens before it. After training on enough text, it can answer questions, "
        "translate and write stories. Every token costs time and memory, so a good tokenizer "
        "matters."
    ),
    "Norwegian": (
        "En språkmodell leser tekst som en rekke tokener. Den lærer å forutsi neste token ut fra "
        "tokenene foran. Etter trening på nok tekst kan den svare på spørsmål, oversette og skrive "
        "fortellinger. Hvert token koster tid og minne, så en god tokenisering er viktig."
    ),
    "Hindi": (
        "भाषा मॉडल पाठ को टोकनों के क्रम के रूप में पढ़ता है। यह पिछले टोकनों से अगले टोकन का अनुमान "
        "लगाना सीखता है। पर्याप्त पाठ पर प्रशिक्षण के बाद यह प्रश्नों के उत्तर दे सकता है, अनुवाद कर "
        "सकता है और कहानियाँ लिख सकता है। हर टोकन में समय और मेमोरी लगती है, इसलिए अच्छा टोकनाइज़र "
        "ज़रूरी है।"
    ),
    "Nepali": (
        "भाषा मोडेलले पाठलाई टोकनहरूको क्रमका रूपमा पढ्छ। यसले अघिल्ला टोकनहरूबाट अर्को टोकन "
        "अनुमान गर्न सिक्छ। पर्याप्त पाठमा तालिम पाएपछि यसले प्रश्नको उत्तर दिन, अनुवाद गर्न र कथा "
        "लेख्न सक्छ। हरेक टोकनले समय र मेमोरी खर्च गर्छ, त्यसैले राम्रो टोकनाइजर महत्त्वपूर्ण हुन्छ।"
    ),
    "Kannada": (
        "ಭಾಷಾ ಮಾದರಿಯು ಪಠ್ಯವನ್ನು ಟೋಕನ್ಗಳ ಸರಣಿಯಾಗಿ ಓದುತ್ತದೆ. ಅದು ಹಿಂದಿನ ಟೋಕನ್ಗಳಿಂದ ಮುಂದಿನ ಟೋಕನ್ ಅನ್ನು "
        "ಊಹಿಸಲು ಕಲಿಯುತ್ತದೆ. ಸಾಕಷ್ಟು ಪಠ್ಯದ ಮೇಲೆ ತರಬೇತಿ ಪಡೆದ ನಂತರ ಅದು ಪ್ರಶ್ನೆಗಳಿಗೆ ಉತ್ತರಿಸಬಹುದು, "
        "ಅನುವಾದಿಸಬಹುದು ಮತ್ತು ಕಥೆಗಳನ್ನು ಬರೆಯಬಹುದು. ಪ್ರತಿಯೊಂದು ಟೋಕನ್ ಸಮಯ ಮತ್ತು ಮೆಮೊರಿಯನ್ನು ಬಳಸುತ್ತದೆ, "
        "ಆದ್ದರಿಂದ ಉತ್ತಮ ಟೋಕನೈಸರ್ ಮುಖ್ಯ."
    ),
}


def token_costs(
    tokenizers: Mapping[str, object], texts: Mapping[str, str] = PARALLEL_TEXT
) -> list[dict]:
    """One row per language: characters, words, UTF-8 bytes, and each tokenizer's token count.

    ``tokenizers`` maps a name to anything with ``encode(text) -> list[int]``. A row holds
    ``language``, ``chars``, ``words``, ``bytes``, and per tokenizer name ``tokens[name]``,
    ``per_char[name]`` and ``per_word[name]``.
    """
    if not tokenizers:
        raise ValueError("give at least one tokenizer")
    rows = []
    for language, text in texts.items():
        if not text.strip():
            raise ValueError(f"the {language} text is empty")
        chars, words = len(text), len(text.split())
        tokens = {name: len(tokenizer.encode(text)) for name, tokenizer in tokenizers.items()}
        rows.append(
            {
                "language": language,
                "chars": chars,
                "words": words,
                "bytes": len(text.encode("utf-8")),
                "tokens": tokens,
                "per_char": {name: n / chars for name, n in tokens.items()},
                "per_word": {name: n / words for name, n in tokens.items()},
            }
        )
    return rows
