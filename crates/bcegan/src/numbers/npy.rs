//! `.npy` arrays: the header, the supported dtypes and the data, decoded to `f64`.

/// First bytes of every `.npy` file.
pub(super) const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Errors from decoding `.npy` bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpyError {
    /// The bytes do not start with `\x93NUMPY`.
    #[error("missing the \\x93NUMPY magic string at byte 0; save the array with numpy.save")]
    MissingMagic,
    /// The file ends inside the preamble or the header.
    #[error(
        "the file ends at byte {actual}, inside the header, which needs {expected} bytes; the file is incomplete, save or copy it again"
    )]
    TruncatedHeader {
        /// Bytes needed up to the end of the header.
        expected: usize,
        /// Bytes in the file.
        actual: usize,
    },
    /// The format version is not 1.0, 2.0 or 3.0.
    #[error(
        "unsupported format version {major}.{minor} at byte 6: expected 1.0, 2.0 or 3.0; save the array with numpy.save"
    )]
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// The header dictionary could not be parsed.
    #[error(
        "invalid header at byte {offset}: {reason}; save the array with numpy.save, which writes a valid header"
    )]
    InvalidHeader {
        /// Byte offset in the file where the problem was found.
        offset: usize,
        /// The expected token and the text found instead.
        reason: String,
    },
    /// The data type is not one of `<f4`, `<f8`, `>f4`, `>f8`, `|u1`, `|i1`, `<i4`, `<i8`, `>i4`, `>i8`.
    #[error(
        "unsupported dtype `{descr}` in the header: expected one of <f4, <f8, >f4, >f8, |u1, |i1, <i4, <i8, >i4, >i8; convert the array with .astype(numpy.float64) before saving"
    )]
    UnsupportedDtype {
        /// The `descr` value of the header.
        descr: String,
    },
    /// The array is stored in Fortran (column-major) order.
    #[error(
        "fortran_order is True in the header: only C-order arrays are supported; save numpy.ascontiguousarray(array) instead"
    )]
    FortranOrder,
    /// The element count or byte size implied by the shape overflows `usize`.
    #[error(
        "shape {shape:?} in the header has more bytes than this machine can address; the header is corrupt, save the array again"
    )]
    ShapeOverflow {
        /// The shape from the header.
        shape: Vec<usize>,
    },
    /// The data section does not have the size the shape and dtype imply.
    #[error(
        "the data from byte {offset} is {actual} bytes, but shape {shape:?} with {item_size}-byte items needs {expected} bytes; the file is truncated or its header is wrong, save or copy it again"
    )]
    DataLength {
        /// Byte offset in the file where the data starts.
        offset: usize,
        /// The shape from the header.
        shape: Vec<usize>,
        /// Bytes per element.
        item_size: usize,
        /// Bytes the shape and dtype imply.
        expected: usize,
        /// Bytes after the header.
        actual: usize,
    },
}

/// Element types a `.npy` file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NpyKind {
    Float,
    Signed,
    Unsigned,
}

/// A supported `.npy` dtype: kind, bytes per element and byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct NpyDtype {
    kind: NpyKind,
    size: usize,
    big_endian: bool,
}

impl NpyDtype {
    /// Maps a numpy `descr` string to a supported dtype.
    fn from_descr(descr: &str) -> Option<Self> {
        let (kind, size, big_endian) = match descr {
            "<f4" => (NpyKind::Float, 4, false),
            "<f8" => (NpyKind::Float, 8, false),
            ">f4" => (NpyKind::Float, 4, true),
            ">f8" => (NpyKind::Float, 8, true),
            "|u1" | "<u1" | ">u1" => (NpyKind::Unsigned, 1, false),
            "|i1" | "<i1" | ">i1" => (NpyKind::Signed, 1, false),
            "<i4" => (NpyKind::Signed, 4, false),
            "<i8" => (NpyKind::Signed, 8, false),
            ">i4" => (NpyKind::Signed, 4, true),
            ">i8" => (NpyKind::Signed, 8, true),
            _ => return None,
        };
        Some(Self {
            kind,
            size,
            big_endian,
        })
    }

    /// Decodes one element of exactly `self.size` bytes.
    fn decode(self, bytes: &[u8]) -> f64 {
        let mut buffer = [0u8; 8];
        buffer[..self.size].copy_from_slice(bytes);
        if self.big_endian {
            buffer[..self.size].reverse();
        }
        match (self.kind, self.size) {
            (NpyKind::Float, 4) => f64::from(f32::from_le_bytes([
                buffer[0], buffer[1], buffer[2], buffer[3],
            ])),
            (NpyKind::Float, _) => f64::from_le_bytes(buffer),
            (NpyKind::Unsigned, _) => f64::from(buffer[0]),
            (NpyKind::Signed, 1) => f64::from(i8::from_le_bytes([buffer[0]])),
            (NpyKind::Signed, 4) => f64::from(i32::from_le_bytes([
                buffer[0], buffer[1], buffer[2], buffer[3],
            ])),
            // NOTE: integers beyond 2^53 in magnitude are rounded to the nearest f64.
            (NpyKind::Signed, _) => i64::from_le_bytes(buffer) as f64,
        }
    }
}

/// The fields of a `.npy` header that this reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NpyHeader {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Decodes the bytes of a `.npy` file (format versions 1.0, 2.0 and 3.0) into its elements
/// in C order, whatever the shape.
///
/// Memory use is bounded by the length of `bytes`: the element buffer is allocated only
/// after the data length has been checked against the shape.
///
/// # Errors
///
/// [`NpyError`] for a missing magic string, a truncated header or data section, an
/// unsupported version or dtype, Fortran order, or a header that cannot be parsed.
pub fn decode_npy(bytes: &[u8]) -> Result<Vec<f64>, NpyError> {
    if !bytes.starts_with(NPY_MAGIC) {
        return Err(NpyError::MissingMagic);
    }
    let (header_text, header_start) = split_npy_header(bytes)?;
    let data_start = header_start + header_text.len();
    let data = &bytes[data_start..];
    let header = parse_npy_header(header_text, header_start)?;
    let dtype = NpyDtype::from_descr(&header.descr).ok_or_else(|| NpyError::UnsupportedDtype {
        descr: header.descr.clone(),
    })?;
    if header.fortran_order {
        return Err(NpyError::FortranOrder);
    }

    let overflow = || NpyError::ShapeOverflow {
        shape: header.shape.clone(),
    };
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |product, &dim| product.checked_mul(dim))
        .ok_or_else(overflow)?;
    let expected = count.checked_mul(dtype.size).ok_or_else(overflow)?;
    if data.len() != expected {
        return Err(NpyError::DataLength {
            offset: data_start,
            shape: header.shape.clone(),
            item_size: dtype.size,
            expected,
            actual: data.len(),
        });
    }

    Ok(data
        .chunks_exact(dtype.size)
        .map(|element| dtype.decode(element))
        .collect())
}

/// Returns the header text of `.npy` bytes and its byte offset; the data follows it.
fn split_npy_header(bytes: &[u8]) -> Result<(&str, usize), NpyError> {
    // Preamble: 6-byte magic, major and minor version bytes, then the header length as a
    // little-endian u16 (version 1.0) or u32 (versions 2.0 and 3.0).
    let truncated = |expected: usize| NpyError::TruncatedHeader {
        expected,
        actual: bytes.len(),
    };
    let (major, minor) = match bytes.get(6..8) {
        Some(&[major, minor]) => (major, minor),
        _ => return Err(truncated(8)),
    };

    let length_size = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };

    let preamble_end = 8 + length_size;
    let length_bytes = bytes
        .get(8..preamble_end)
        .ok_or_else(|| truncated(preamble_end))?;
    let header_length = length_bytes
        .iter()
        .rev()
        .fold(0usize, |length, &byte| (length << 8) | usize::from(byte));
    let header_end = preamble_end
        .checked_add(header_length)
        .ok_or_else(|| truncated(usize::MAX))?;
    let header_bytes = bytes
        .get(preamble_end..header_end)
        .ok_or_else(|| truncated(header_end))?;

    // Versions 1.0 and 2.0 use latin-1 headers, 3.0 uses UTF-8; every header numpy writes
    // for the supported dtypes is ASCII, which both decodings agree on.
    let header_text =
        std::str::from_utf8(header_bytes).map_err(|error| NpyError::InvalidHeader {
            offset: preamble_end + error.valid_up_to(),
            reason: "header is not ASCII or UTF-8 text".to_owned(),
        })?;
    Ok((header_text, preamble_end))
}

/// Parses the header dictionary, e.g. `{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }`.
/// `start` is the byte offset of `text` in the file, for error messages.
fn parse_npy_header(text: &str, start: usize) -> Result<NpyHeader, NpyError> {
    let mut parser = HeaderParser {
        rest: text,
        end: start + text.len(),
    };
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;

    parser.expect('{')?;
    loop {
        if parser.accept('}') {
            break;
        }
        let key = parser.string()?;
        parser.expect(':')?;
        match key.as_str() {
            "descr" => descr = Some(parser.string()?),
            "fortran_order" => fortran_order = Some(parser.boolean()?),
            "shape" => shape = Some(parser.shape()?),
            other => {
                return Err(parser.invalid(format!("unexpected key '{other}'")));
            }
        }
        if !parser.accept(',') {
            parser.expect('}')?;
            break;
        }
    }

    Ok(NpyHeader {
        descr: descr.ok_or_else(|| parser.invalid("missing key 'descr'"))?,
        fortran_order: fortran_order
            .ok_or_else(|| parser.invalid("missing key 'fortran_order'"))?,
        shape: shape.ok_or_else(|| parser.invalid("missing key 'shape'"))?,
    })
}

/// A cursor over the Python literal subset used in `.npy` headers: a dict of quoted
/// strings, `True`/`False` and tuples of non-negative integers.
struct HeaderParser<'a> {
    rest: &'a str,
    /// Byte offset in the file where the header text ends.
    end: usize,
}

impl HeaderParser<'_> {
    /// Builds an [`NpyError::InvalidHeader`] at the current position.
    fn invalid(&self, reason: impl Into<String>) -> NpyError {
        NpyError::InvalidHeader {
            offset: self.end - self.rest.len(),
            reason: reason.into(),
        }
    }

    fn skip_whitespace(&mut self) {
        self.rest = self.rest.trim_start();
    }

    /// Consumes `symbol` if it comes next.
    fn accept(&mut self, symbol: char) -> bool {
        self.skip_whitespace();
        match self.rest.strip_prefix(symbol) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, symbol: char) -> Result<(), NpyError> {
        if self.accept(symbol) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{symbol}'")))
        }
    }

    fn unexpected(&self, expected: &str) -> NpyError {
        let found: String = self.rest.chars().take(20).collect();
        self.invalid(format!("expected {expected}, found `{found}`"))
    }

    /// Parses a string in single or double quotes (no escapes: numpy writes none here).
    fn string(&mut self) -> Result<String, NpyError> {
        self.skip_whitespace();
        let quote = match self.rest.chars().next() {
            Some(quote @ ('\'' | '"')) => quote,
            _ => return Err(self.unexpected("a quoted string")),
        };
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| self.invalid("unterminated string"))?;
        self.rest = &body[end + 1..];
        Ok(body[..end].to_owned())
    }

    fn boolean(&mut self) -> Result<bool, NpyError> {
        self.skip_whitespace();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(value);
            }
        }
        Err(self.unexpected("True or False"))
    }

    /// Parses a tuple of dimensions: `()`, `(3,)` or `(2, 3)`.
    fn shape(&mut self) -> Result<Vec<usize>, NpyError> {
        self.expect('(')?;
        let mut dims = Vec::new();
        loop {
            if self.accept(')') {
                return Ok(dims);
            }
            dims.push(self.dimension()?);
            if !self.accept(',') {
                self.expect(')')?;
                return Ok(dims);
            }
        }
    }

    fn dimension(&mut self) -> Result<usize, NpyError> {
        self.skip_whitespace();
        let digits_end = self
            .rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(self.rest.len());
        if digits_end == 0 {
            return Err(self.unexpected("a dimension"));
        }
        let digits = &self.rest[..digits_end];
        // Python 2 era writers may append `L` to long integers.
        self.rest = self.rest[digits_end..]
            .strip_prefix('L')
            .unwrap_or(&self.rest[digits_end..]);
        digits
            .parse()
            .map_err(|_| self.invalid(format!("dimension {digits} is too large")))
    }
}
