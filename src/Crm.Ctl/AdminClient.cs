using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Crm.Ctl;

/// <summary>
/// The thin HTTP side of crmctl: one request per call against the admin listener. It turns the host's refusals and
/// failures into exceptions; what to print and which exit status to give is <see cref="CtlApp"/>'s business.
/// </summary>
public sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(Uri baseAddress, string? token, TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        // No proxy: the listener is local or beside the host, and a container's HTTP_PROXY must not capture it.
        _http = new HttpClient(handler ?? new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = baseAddress,
            Timeout = timeout,
        };
        if (!string.IsNullOrEmpty(token)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public TimeSpan Timeout => _http.Timeout;

    /// <summary>GET of a body that must be there: any failure throws.</summary>
    public async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) where T : class =>
        (await SendAsync(HttpMethod.Get, path, type, programScoped: false, ct))!;

    /// <summary>POST without a body (every mutating call of the admin API): any failure throws.</summary>
    public async Task<T> PostAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken ct) where T : class =>
        (await SendAsync(HttpMethod.Post, path, type, programScoped: false, ct))!;

    /// <summary>POST with a JSON body (the cluster's leave and down): any failure throws.</summary>
    public async Task<TAnswer> PostJsonAsync<TBody, TAnswer>(string path, TBody body, JsonTypeInfo<TBody> bodyType, JsonTypeInfo<TAnswer> answerType,
        CancellationToken ct) where TAnswer : class
    {
        using var response = await _http.PostAsJsonAsync(path, body, bodyType, ct);
        await ThrowUnlessSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync(answerType, ct) ?? throw new AdminAnswerException($"{path}: empty answer");
    }

    /// <summary>POST with a JSON body to a path the host may not have: null when it answers 404 or 405 (no such command).</summary>
    public async Task<TAnswer?> FindJsonAsync<TBody, TAnswer>(string path, TBody body, JsonTypeInfo<TBody> bodyType, JsonTypeInfo<TAnswer> answerType,
        CancellationToken ct) where TAnswer : class
    {
        using var response = await _http.PostAsJsonAsync(path, body, bodyType, ct);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed) return null;
        await ThrowUnlessSuccessAsync(response, ct);
        return await response.Content.ReadFromJsonAsync(answerType, ct) ?? throw new AdminAnswerException($"{path}: empty answer");
    }

    /// <summary>A call about one program: null when the host answers 404, no such process.</summary>
    public Task<T?> FindAsync<T>(HttpMethod method, string path, JsonTypeInfo<T> type, CancellationToken ct) where T : class =>
        SendAsync(method, path, type, programScoped: true, ct);

    public async Task<string> GetTextAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct);
        await ThrowUnlessSuccessAsync(response, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    /// <summary>Health answers 503 with a body worth printing: no status is an error here.</summary>
    public async Task<(HttpStatusCode Status, string? Reason, string Body)> GetAnyAsync(string path, CancellationToken ct)
    {
        using var response = await _http.GetAsync(path, ct);
        return (response.StatusCode, response.ReasonPhrase, await response.Content.ReadAsStringAsync(ct));
    }

    private async Task<T?> SendAsync<T>(HttpMethod method, string path, JsonTypeInfo<T> type, bool programScoped, CancellationToken ct) where T : class
    {
        using var request = new HttpRequestMessage(method, path);
        using var response = await _http.SendAsync(request, ct);
        if (programScoped && response.StatusCode == HttpStatusCode.NotFound) return null;
        await ThrowUnlessSuccessAsync(response, ct);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, ct) ?? throw new AdminAnswerException($"{path}: empty answer");
        }
        catch (JsonException e)
        {
            throw new AdminAnswerException($"{path}: {e.Message}");
        }
    }

    /// <summary>401/403: the host refused the call (token); anything else: the host failed, in its own words.</summary>
    private static async Task ThrowUnlessSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(ct);
        var message = ErrorMessage(body) ?? $"{(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
        throw response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            ? new AdminRefusedException(message)
            : new AdminFailedException(message);
    }

    /// <summary>The <c>error</c> of a <c>{"error": "..."}</c> body; null for any other body.</summary>
    internal static string? ErrorMessage(string body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, AdminJson.Default.ErrorBody)?.Error is { Length: > 0 } error ? error : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>401 or 403: the host wants a (valid) bearer token.</summary>
public sealed class AdminRefusedException(string message) : Exception(message);

/// <summary>Any other non-success status, with the host's error message.</summary>
public sealed class AdminFailedException(string message) : Exception(message);

/// <summary>A success status whose body is not the documented shape (a different service on the port?).</summary>
public sealed class AdminAnswerException(string message) : Exception(message);
