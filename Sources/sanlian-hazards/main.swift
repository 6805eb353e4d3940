import HazardsService
import ServiceFrame

await ServiceMain.run(HazardsService.self)
