//! Normalization of raw logs into canonical transcripts (placeholder for the normalizer work).
