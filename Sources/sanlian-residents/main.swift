import ResidentsService
import ServiceFrame

await ServiceMain.run(ResidentsService.self)
