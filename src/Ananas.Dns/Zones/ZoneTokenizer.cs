using System.Text;

namespace Ananas.Dns.Zones;

/// <summary>
/// Splits master-file text (RFC 1035 §5.1) into tokens with line and column numbers: whitespace
/// separates tokens, <c>;</c> starts a comment, <c>"..."</c> quotes (with <c>\</c> escapes), and
/// parentheses let one record continue over several lines. Line ends outside parentheses become
/// <see cref="ZoneTokenKind.EndOfRecord"/> tokens.
/// </summary>
public sealed class ZoneTokenizer
{
    private readonly string _text;
    private int _pos;
    private int _line = 1;
    private int _column = 1;
    private int _parenDepth;
    private int _parenLine, _parenColumn;

    public ZoneTokenizer(string text, string file)
    {
        _text = text;
        File = file;
    }

    /// <summary>The file name used in error messages.</summary>
    public string File { get; }

    public int Line => _line;

    public int Column => _column;

    /// <summary>Reads the tokens of the next logical record into <paramref name="tokens"/> (cleared first).
    /// Returns false at the end of the file when nothing was read. Blank and comment-only lines are skipped.</summary>
    public bool ReadRecord(List<ZoneToken> tokens, out ZoneToken end)
    {
        tokens.Clear();
        while (true)
        {
            var t = Next();
            if (t.IsText) { tokens.Add(t); continue; }
            end = t;
            if (tokens.Count > 0) return true;
            if (t.Kind == ZoneTokenKind.EndOfFile) return false;
        }
    }

    public ZoneToken Next()
    {
        while (true)
        {
            if (_pos >= _text.Length)
            {
                if (_parenDepth > 0) throw new ZoneFileException(File, _parenLine, _parenColumn, "expected ')' to close this '(', found end of file");
                return new ZoneToken(ZoneTokenKind.EndOfFile, "", _line, _column, false);
            }
            char c = _text[_pos];
            switch (c)
            {
                case '\n':
                    {
                        var t = new ZoneToken(ZoneTokenKind.EndOfRecord, "", _line, _column, false);
                        Advance();
                        if (_parenDepth == 0) return t;
                        continue;
                    }
                case ' ' or '\t' or '\r' or '\f' or '\v':
                    Advance();
                    continue;
                case ';':
                    while (_pos < _text.Length && _text[_pos] != '\n') Advance();
                    continue;
                case '(':
                    if (_parenDepth == 0) { _parenLine = _line; _parenColumn = _column; }
                    _parenDepth++;
                    Advance();
                    continue;
                case ')':
                    if (_parenDepth == 0) throw new ZoneFileException(File, _line, _column, "expected a field, found ')' without a matching '('");
                    _parenDepth--;
                    Advance();
                    continue;
                case '"':
                    return ReadQuoted();
                default:
                    return ReadWord();
            }
        }
    }

    private ZoneToken ReadQuoted()
    {
        int line = _line, column = _column;
        bool atLineStart = column == 1 && _parenDepth == 0;
        Advance();
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length) throw new ZoneFileException(File, line, column, "expected a closing '\"', found end of file");
            char c = _text[_pos];
            if (c == '"') { Advance(); break; }
            if (c == '\\')
            {
                sb.Append(c);
                Advance();
                if (_pos >= _text.Length) continue;
                c = _text[_pos];
            }
            sb.Append(c);
            Advance();
        }
        return new ZoneToken(ZoneTokenKind.Quoted, sb.ToString(), line, column, atLineStart);
    }

    private ZoneToken ReadWord()
    {
        int line = _line, column = _column;
        bool atLineStart = column == 1 && _parenDepth == 0;
        int start = _pos;
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (c is ' ' or '\t' or '\r' or '\n' or '\f' or '\v' or ';' or '(' or ')') break;
            if (c == '\\')
            {
                Advance();
                if (_pos < _text.Length && _text[_pos] != '\n') Advance();
                continue;
            }
            if (c == '"')
            {
                // A quoted part inside a word, as in an SVCB parameter: alpn="h2,h3" (RFC 9460 §2.1).
                int qLine = _line, qColumn = _column;
                Advance();
                while (true)
                {
                    if (_pos >= _text.Length) throw new ZoneFileException(File, qLine, qColumn, "expected a closing '\"', found end of file");
                    char q = _text[_pos];
                    Advance();
                    if (q == '"') break;
                    if (q == '\\' && _pos < _text.Length) Advance();
                }
                continue;
            }
            Advance();
        }
        return new ZoneToken(ZoneTokenKind.Word, _text[start.._pos], line, column, atLineStart);
    }

    private void Advance()
    {
        if (_text[_pos] == '\n') { _line++; _column = 1; }
        else _column++;
        _pos++;
    }
}
