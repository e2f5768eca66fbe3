using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Text;

namespace Ananas.Cli;

/// <summary>
/// <c>--help</c> in the layout of a manual page: NAME, SYNOPSIS, DESCRIPTION, COMMANDS, ARGUMENTS, OPTIONS, EXIT
/// STATUS and SEE ALSO, built from each command's own descriptions (so the help cannot drift from the parser).
/// </summary>
internal sealed class ManualPage : SynchronousCommandLineAction
{
    private const int Width = 100;

    private static readonly string[] DefaultExitStatus = ["0  success", "1  an error (bad arguments, a configuration error, a server that cannot be reached)"];

    /// <summary>Commands whose exit statuses are not just <see cref="DefaultExitStatus"/>, by command path.</summary>
    private static readonly Dictionary<string, string[]> ExitStatus = new(StringComparer.Ordinal)
    {
        ["ananas shadow"] = [.. DefaultExitStatus, "3  the target and the reference disagree on at least one stable answer"],
        ["ananas scenario"] = ["0  every scenario passed", "1  a scenario failed", "2  a usage error (no such file, bad --dialect)"],
    };

    private static readonly Dictionary<string, string> SeeAlso = new(StringComparer.Ordinal)
    {
        ["ananas serve"] = "docs/SERVER.md (every configuration key), docs/OPERATIONS.md (port 53, the console, /help)",
        ["ananas shadow"] = "docs/SERVER.md, \"Shadow mode\"; docs/OPERATIONS.md",
    };

    /// <summary>Replaces the help action of every <see cref="HelpOption"/> under <paramref name="root"/>.</summary>
    public static void Install(Command root)
    {
        foreach (var option in root.Options)
            if (option is HelpOption help) help.Action = new ManualPage();
    }

    public override int Invoke(ParseResult parseResult)
    {
        Console.Out.Write(Render(parseResult.CommandResult.Command));
        return 0;
    }

    public static string Render(Command command)
    {
        var path = PathOf(command);
        var sb = new StringBuilder();
        Section(sb, "NAME", $"{path} - {FirstSentence(command.Description)}");
        var synopsis = new StringBuilder(path);
        foreach (var option in Visible(command.Options)) synopsis.Append(option.Required ? $" {Usage(option)}" : $" [{Usage(option)}]");
        foreach (var argument in command.Arguments) synopsis.Append(argument.Arity.MinimumNumberOfValues == 0 ? $" [{argument.Name.ToUpperInvariant()}]" : $" {argument.Name.ToUpperInvariant()}");
        if (command.Subcommands.Count > 0) synopsis.Append(" COMMAND");
        Section(sb, "SYNOPSIS", synopsis.ToString());
        Section(sb, "DESCRIPTION", command.Description ?? "");
        if (command.Subcommands.Count > 0)
        {
            sb.Append("COMMANDS\n");
            foreach (var sub in command.Subcommands.Where(s => !s.Hidden)) Item(sb, sub.Name, sub.Description ?? "");
            Item(sb, "", $"'{path} COMMAND --help' describes each.");
            sb.Append('\n');
        }
        if (command.Arguments.Count > 0)
        {
            sb.Append("ARGUMENTS\n");
            foreach (var argument in command.Arguments) Item(sb, argument.Name.ToUpperInvariant(), argument.Description ?? "");
            sb.Append('\n');
        }
        sb.Append("OPTIONS\n");
        foreach (var option in Visible(command.Options).Concat(command.Options.Where(o => o is HelpOption)))
            Item(sb, string.Join(", ", new[] { option.Name }.Concat(option.Aliases.Where(a => a != option.Name))) + (IsFlag(option) ? "" : $" {ValueName(option)}"),
                option is HelpOption ? "Show this page." : option.Description ?? "");
        sb.Append('\n');
        Section(sb, "EXIT STATUS", string.Join('\n', ExitStatus.GetValueOrDefault(path, DefaultExitStatus)));
        Section(sb, "SEE ALSO", SeeAlso.GetValueOrDefault(path, "README.md, docs/SERVER.md"));
        return sb.ToString();
    }

    private static IEnumerable<Option> Visible(IEnumerable<Option> options) => options.Where(o => !o.Hidden && o is not HelpOption && o is not VersionOption);

    private static bool IsFlag(Option option) => option.ValueType == typeof(bool);

    private static string ValueName(Option option) => option.HelpName ?? option.Name.TrimStart('-').ToUpperInvariant();

    private static string Usage(Option option) => IsFlag(option) ? option.Name : $"{option.Name} {ValueName(option)}";

    private static string PathOf(Command command)
    {
        var names = new List<string>();
        for (var c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            names.Insert(0, c is RootCommand ? "ananas" : c.Name);
        return string.Join(' ', names);
    }

    private static string FirstSentence(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        int end = text.IndexOf(". ", StringComparison.Ordinal);
        return (end < 0 ? text : text[..end]).TrimEnd('.');
    }

    private static void Section(StringBuilder sb, string title, string body)
    {
        sb.Append(title).Append('\n');
        foreach (var line in body.Split('\n')) Wrap(sb, line, "    ");
        sb.Append('\n');
    }

    private static void Item(StringBuilder sb, string term, string description)
    {
        if (term.Length > 0) sb.Append("    ").Append(term).Append('\n');
        Wrap(sb, description, "        ");
    }

    private static void Wrap(StringBuilder sb, string text, string indent)
    {
        var line = new StringBuilder(indent);
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > indent.Length && line.Length + 1 + word.Length > Width)
            {
                sb.Append(line).Append('\n');
                line.Clear().Append(indent);
            }
            if (line.Length > indent.Length) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > indent.Length) sb.Append(line).Append('\n');
    }
}
