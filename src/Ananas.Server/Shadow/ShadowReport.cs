using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Ananas.Server.Shadow;

/// <summary>
/// The counts of a shadow replay, respdiff's way: questions, those neither resolver answered, those dropped as
/// unstable, and the stable differences by field (a question can differ in several), with examples of each.
/// </summary>
public sealed class ShadowReport(string target, string reference, int examplesPerField)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Difference, long> _byField = [];
    private readonly Dictionary<Difference, List<Example>> _examples = [];

    /// <summary>One disagreeing question with both answers summarised.</summary>
    public sealed record Example(string Question, string Target, string Reference);

    public string Target { get; } = target;
    public string Reference { get; } = reference;
    public int Questions { get; init; }
    public long Compared { get; private set; }
    public long NoAnswer { get; private set; }
    public long Unstable { get; private set; }
    /// <summary>Questions with a stable difference in at least one field.</summary>
    public long Different { get; private set; }

    public long ByField(Difference field)
    {
        lock (_lock) return _byField.GetValueOrDefault(field);
    }

    public IReadOnlyList<Example> Examples(Difference field)
    {
        lock (_lock) return _examples.TryGetValue(field, out var list) ? [.. list] : [];
    }

    public void Add(QuestionOutcome outcome)
    {
        lock (_lock)
        {
            if (outcome.NoAnswer)
            {
                NoAnswer++;
                return;
            }
            if (outcome.Unstable)
            {
                Unstable++;
                return;
            }
            Compared++;
            if (outcome.Difference == Difference.None) return;
            Different++;
            foreach (var field in AnswerComparison.Fields)
            {
                if ((outcome.Difference & field) == 0) continue;
                _byField[field] = _byField.GetValueOrDefault(field) + 1;
                if (!_examples.TryGetValue(field, out var list)) _examples[field] = list = [];
                if (list.Count < examplesPerField)
                    list.Add(new Example(outcome.Question.ToString(), AnswerComparison.Summary(outcome.Target), AnswerComparison.Summary(outcome.Reference)));
            }
        }
    }

    public string ToText()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"target     {Target}\nreference  {Reference}\n");
        sb.Append(inv, $"questions                 {Questions,8}\n");
        sb.Append(inv, $"neither answered          {NoAnswer,8}\n");
        sb.Append(inv, $"unstable (dropped)        {Unstable,8}\n");
        sb.Append(inv, $"compared                  {Compared,8}\n");
        sb.Append(inv, $"target disagrees          {Different,8}  {Percent(Different, Compared)}\n\n");
        sb.Append("field            count      % of compared\n");
        foreach (var field in AnswerComparison.Fields)
            sb.Append(inv, $"{AnswerComparison.Name(field),-14} {ByField(field),8}   {Percent(ByField(field), Compared)}\n");
        foreach (var field in AnswerComparison.Fields)
        {
            var examples = Examples(field);
            if (examples.Count == 0) continue;
            sb.Append(inv, $"\n== {AnswerComparison.Name(field)}: {ByField(field)} (first {examples.Count})\n");
            foreach (var e in examples) sb.Append(inv, $"{e.Question}\n  target:    {e.Target}\n  reference: {e.Reference}\n");
        }
        return sb.ToString();
    }

    public string ToJson()
    {
        var fields = new Dictionary<string, long>();
        var examples = new Dictionary<string, IReadOnlyList<Example>>();
        foreach (var field in AnswerComparison.Fields)
        {
            fields[AnswerComparison.Name(field)] = ByField(field);
            examples[AnswerComparison.Name(field)] = Examples(field);
        }
        return JsonSerializer.Serialize(new
        {
            target = Target, reference = Reference, questions = Questions, noAnswer = NoAnswer, unstable = Unstable,
            compared = Compared, different = Different, byField = fields, examples,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });
    }

    private static string Percent(long part, long whole) => whole == 0 ? "" : (100.0 * part / whole).ToString("0.00", CultureInfo.InvariantCulture) + " %";
}
