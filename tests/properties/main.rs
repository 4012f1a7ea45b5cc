//! Property tests of every parser and security decision on input that the
//! public API exposes (the private ones — the `next` sanitiser, the exempt
//! path matcher, the remember-device token — have theirs beside their code).
//! CI runs proptest's default case count; `scripts/soak MINUTES` runs each
//! for longer (`PROPTEST_CASES`), with fresh seeds every round.

mod authy_signature;
mod callback_payload;
mod params;
mod token;
mod twilio_signature;

/// One byte of `text` changed to another byte, keeping it UTF-8 (an ASCII
/// byte replaced by another ASCII byte; `None` when there is none).
pub fn change_one_byte(text: &str, at: usize, to: u8) -> Option<String> {
    let ascii: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|(_, b)| b.is_ascii())
        .map(|(i, _)| i)
        .collect();
    if ascii.is_empty() {
        return None;
    }
    let index = ascii[at % ascii.len()];
    let mut bytes = text.as_bytes().to_vec();
    let replacement = to & 0x7f;
    if bytes[index] == replacement {
        return None;
    }
    bytes[index] = replacement;
    String::from_utf8(bytes).ok()
}
