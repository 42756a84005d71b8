//! The canonical transcript (placeholder for the normalizer work).
