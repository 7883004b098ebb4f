using Crm.Actors.Configuration;
using Crm.Actors.Processes;
using Crm.Actors.Supervision;

namespace Crm.Host.Programs.Processes;

/// <summary>
/// An OS process under the host's supervision (SPEC §11), as supervisord runs a <c>[program:x]</c>: from a section
/// <c>crm.programs.NAME { command = "..." }</c> of the configuration, or from a supervisord.conf. Its settings are
/// read again each time it is defined (at start, and at <c>crmctl update</c>), from where they came. Its output goes
/// to its own log files (stdout_logfile, stderr_logfile), which <c>crmctl tail</c> reads.
/// </summary>
public sealed class ProcessHostedProgram : HostedProgram
{
    private readonly Func<ProgramContext, (ProcessProgramSettings Process, ProgramSettings Supervision)> _read;
    private readonly ProcessLineage _lineage = new();
    private ProcessProgramSettings? _defined;

    private ProcessHostedProgram(string name, Func<ProgramContext, (ProcessProgramSettings, ProgramSettings)> read)
    {
        _read = read;
        Registration = new ProgramRegistration(name, context =>
        {
            var (process, supervision) = _read(context);
            _defined = process;
            // One lineage across definitions: after an update, the first spawn waits for the old process group to be gone.
            return ProcessProgram.Define(process, supervision, lineage: _lineage);
        });
    }

    public override ProgramRegistration Registration { get; }

    /// <summary><c>crm.programs.NAME</c>: its supervision keys as any program's, its own as supervisord's (AUTO logs in <paramref name="logDirectory"/>).</summary>
    public static ProcessHostedProgram FromConfiguration(string name, string logDirectory) =>
        new(name, context =>
        {
            var process = ProcessProgramSettings.Read(context.Config, name, childLogDirectory: logDirectory);
            process.CheckPaths(key => $"crm.programs.{name}.{key}"); // a missing log folder is a bad setting (exit 2), not a spawn error
            return (process, context.Supervision);
        });

    /// <summary><c>[program:NAME]</c> of a supervisord.conf, as <paramref name="conf"/> reads it at each definition.</summary>
    public static ProcessHostedProgram FromSupervisordConf(string name, SupervisordConfFile conf) =>
        new(name, _ =>
        {
            var program = conf.Read().Program(name)
                ?? throw new ConfigurationException("--supervisord-conf", conf.Path, $"[program:{name}] is no longer there: the host adds or removes programs when it restarts");
            program.Process.CheckPaths(key => $"[program:{name}] {key}");
            return (program.Process, program.Supervision);
        });

    public override string? OutputLog(string stream) => _defined is not { } process ? null
        : stream == "stderr" && !process.RedirectStderr ? process.Stderr.Path
        : stream == "stderr" ? null
        : process.Stdout.Path;
}
