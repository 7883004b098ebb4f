# CrmActors reminder service. Build: docker build -t crm-actors .
# Run next to the CRM's PostgreSQL: docker run -e DATABASE_URL=postgresql://user:pass@db:5432/crm crm-actors
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props CrmActors.sln ./
COPY hocon/ hocon/
COPY src/ src/
RUN dotnet publish src/Crm.Host/Crm.Host.csproj -c Release -o /app --nologo

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# The image's unprivileged user (uid 1654) owns only what it writes: logs and the embedded database.
RUN mkdir -p /app/logs /app/data && chown app:app /app/logs /app/data
USER app
VOLUME ["/app/logs"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["dotnet", "Crm.Host.dll"]
